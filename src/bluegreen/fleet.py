"""All Varnish instances of a stage, acted on together.

Phase 1 (prepare, repeatable): load both colors' VCL warm on every instance.
Phase 2 (commit): check every instance still serves what the plan expected (compare-and-swap),
then send `vcl.use` to all before reading any reply. If any instance fails, the ones that
switched are switched back: the stage is never left half switched.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from contextlib import contextmanager

from bluegreen.config import Address
from bluegreen.errors import BluegreenError, Refused, VarnishError
from bluegreen.varnish import VarnishAdmin


class SwitchResult:
    __slots__ = ("target", "window_ms", "instances")

    def __init__(self, target: str, window_ms: float, instances: int):
        self.target, self.window_ms, self.instances = target, window_ms, instances


class Fleet:
    def __init__(self, addresses: tuple[Address, ...], secret: bytes, timeout: float = 5.0,
                 connect=socket.create_connection):
        self.addresses = addresses
        self._make = lambda a: VarnishAdmin(a, secret, timeout=timeout, connect=connect)
        self.admins: list[VarnishAdmin] = []

    def open(self) -> Fleet:
        """Connect and authenticate to every instance, or to none."""
        try:
            for address in self.addresses:
                self.admins.append(self._make(address).open())
        except BluegreenError:
            self.close()
            raise
        return self

    def close(self) -> None:
        for admin in self.admins:
            admin.close()
        self.admins = []

    def __enter__(self) -> Fleet:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------
    def actives(self) -> dict[str, str | None]:
        return {inst: _active(entries) for inst, entries in self.loaded().items()}

    def loaded(self) -> dict[str, list[dict]]:
        return {str(a.address): a.vcl_list() for a in self.admins}

    def probe_view(self, vcl: str, color: str, ours=None) -> dict[str, dict[str, str]]:
        """{instance: {backend: 'healthy'|'sick'|...}} for the color's servers.

        Each VCL probes its own backends, so the color is looked at in `vcl` (the one that will
        go live) and, when `ours(name)` says it is ours, in the active VCL too (it routes the
        preview header until the switch).
        """
        view = {}
        for admin in self.admins:
            names = [vcl]
            active = admin.active_vcl() if ours else None
            if active and active != vcl and ours(active):
                names.append(active)
            found = {}
            for name in names:
                for backend, info in admin.backend_list(f"{name}.*").items():
                    if backend.split(".", 1)[-1].startswith(f"{color}_"):
                        found[backend] = _health(info)
            view[str(admin.address)] = found
        return view

    # -- phase 1 --------------------------------------------------------------------------------
    def prepare(self, vcls: dict[str, str]) -> list[str]:
        """Load every {name: source} warm where missing; warm it where cold. Returns actions."""
        done = []
        for admin in self.admins:
            present = {e["name"]: e for e in admin.vcl_list()}
            for name, source in vcls.items():
                entry = present.get(name)
                if entry is None:
                    admin.vcl_inline(name, source, "warm")
                    done.append(f"loaded {name} on {admin.address}")
                elif entry.get("status") != "active" and entry.get("state") == "cold":
                    admin.vcl_state(name, "warm")
                    done.append(f"warmed {name} on {admin.address}")
        return done

    def missing(self, name: str, listing: dict[str, list[dict]] | None = None) -> list[str]:
        listing = self.loaded() if listing is None else listing
        return [inst for inst, entries in listing.items()
                if name not in {e.get("name") for e in entries}]

    # -- phase 2 --------------------------------------------------------------------------------
    def switch(self, target: str, expected: dict[str, str | None], stage: str) -> SwitchResult:
        listing = self.loaded()  # one vcl.list per instance answers both checks below
        actives = {inst: _active(entries) for inst, entries in listing.items()}
        moved = {i: (expected.get(i), v) for i, v in actives.items() if v != expected.get(i)}
        if moved:
            detail = ", ".join(f"{i} serves {now} (planned from {was})" for i, (was, now) in moved.items())
            raise Refused(f"stage {stage} changed since this run planned: {detail}; another "
                          f"pipeline got there first: run 'passive --stage {stage}' to plan again")
        lacking = self.missing(target, listing)
        if lacking:
            raise Refused(f"VCL {target} is not loaded on {', '.join(lacking)}: run 'deploy' "
                          "for this stage again to load it")
        line = f"vcl.use {target}\n".encode()
        replies: dict[int, object] = {}
        with _signals_deferred():
            start = time.perf_counter()
            for n, admin in enumerate(self.admins):
                try:
                    admin.send(line)
                except VarnishError as exc:
                    replies[n] = exc
            for n, admin in enumerate(self.admins):
                if n not in replies:
                    try:
                        replies[n] = admin.recv()
                    except VarnishError as exc:
                        replies[n] = exc
            window_ms = (time.perf_counter() - start) * 1000
            failed = {n: r for n, r in replies.items() if isinstance(r, Exception) or not r.ok}
            if failed:
                self._revert(replies, failed, expected, target, stage)
        return SwitchResult(target, window_ms, len(self.admins))

    def _revert(self, replies, failed, expected, target, stage) -> None:
        notes = []
        for n, admin in enumerate(self.admins):
            inst = str(admin.address)
            if n in failed:
                reply = failed[n]
                said = reply.message if isinstance(reply, Exception) else reply.describe()
                notes.append(f"{inst} answered {said}")
                if isinstance(reply, Exception):  # unknown outcome: put it back on a new connection
                    notes.append(self._put_back(self._make(admin.address), expected[inst], fresh=True))
            else:
                notes.append(self._put_back(admin, expected[inst]))
        raise VarnishError(f"switch of stage {stage} to {target} failed, reverted: "
                           + "; ".join(n for n in notes if n))

    @staticmethod
    def _put_back(admin: VarnishAdmin, name: str | None, fresh: bool = False) -> str:
        inst = str(admin.address)
        try:
            if fresh:
                admin.open()
            admin.vcl_use(name)
            return f"{inst} switched back to {name}"
        except BluegreenError as exc:
            return f"{inst} could NOT be switched back to {name} ({exc.message}): run 'status'"
        finally:
            if fresh:
                admin.close()

    # -- housekeeping ---------------------------------------------------------------------------
    def housekeep(self, ours, keep: int, protect: set[str]) -> list[str]:
        """Discard our VCLs beyond `keep` per color (oldest first), never protected or labelled ones.

        `ours(name)` gives the color of a VCL this tool made, None for anything else.
        """
        gone = []
        for admin in self.admins:
            entries = admin.vcl_list()
            labelled = {e.get("label", {}).get("name") for e in entries if e.get("state") == "label"}
            for color in ("blue", "green"):
                mine = [e for e in entries if ours(e.get("name")) == color
                        and e.get("status") != "discarded"]
                for entry in mine[:-keep] if len(mine) > keep else []:
                    name = entry["name"]
                    if entry.get("status") == "active" or name in protect or name in labelled \
                            or entry.get("labels"):
                        continue
                    admin.vcl_discard(name)
                    gone.append(f"discarded {name} on {admin.address}")
        return gone


def _active(entries: list[dict]) -> str | None:
    return next((e.get("name") for e in entries if e.get("status") == "active"), None)


@contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM (Ctrl-C, an aborted Jenkins build) until phase 2 and any revert
    are done, so a signal can never leave the stage half switched. Then act on them as usual."""
    caught: list[int] = []
    try:
        previous = {s: signal.signal(s, lambda n, _frame: caught.append(n))
                    for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: Python delivers signals to the main thread only
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            handler = previous[caught[0]]
            if callable(handler):
                handler(caught[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), caught[0])


def _health(info: dict) -> str:
    msg = info.get("probe_message")
    if info.get("admin_health") in ("sick", "healthy"):
        return info["admin_health"]
    if isinstance(msg, list) and msg:
        return str(msg[-1])
    return str(msg or "unknown")
