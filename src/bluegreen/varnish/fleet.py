"""All Varnish instances of a stage, acted on together.

Phase 1 (prepare, repeatable): load both colors' VCL warm on every instance, all at once.
Phase 2 (commit): check every instance still serves what the plan expected, or already this run's
target (compare-and-swap; a rerun finishes its own partial switch), wait until the target's probes
see its backends healthy, then send the move to all before reading any reply, and read back what
each instance serves. If any instance fails, or another run moved one meanwhile, the ones that
switched are switched back; an instance that cannot be put back is named: the stage is half
switched, and the message says what to run.

What moves is the stage's `Target`: the active VCL (`vcl.use`, mode "vcl") or a label
(`vcl.label`, mode "label": the operator's own VCL stays active and routes to the label).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from contextlib import contextmanager

from bluegreen.errors import BluegreenError, Refused, VarnishError
from bluegreen.model import Address
from bluegreen.varnish.admin import COMPILE_TIMEOUT_S, Reply, VarnishAdmin, named


class ActiveVcl:
    """Mode "vcl": what is live is the active VCL; `vcl.use` moves it."""

    kind = "active VCL"

    def live(self, entries: list[dict]) -> str | None:
        return next((e["name"] for e in entries if e.get("status") == "active"), None)

    def move(self, name: str) -> str:
        return f"vcl.use {named(name)}"


class Label:
    """Mode "label": what is live is the VCL the label points to; `vcl.label` moves it."""

    kind = "label"

    def __init__(self, label: str):
        self.label = named(label)

    def live(self, entries: list[dict]) -> str | None:
        for e in entries:
            if e.get("name") == self.label and e.get("state") == "label":
                target = e.get("label")
                return target.get("name") if isinstance(target, dict) else None
        return None

    def move(self, name: str) -> str:
        return f"vcl.label {self.label} {named(name)}"


class SwitchResult:
    __slots__ = ("target", "window_ms", "instances")

    def __init__(self, target: str, window_ms: float, instances: int):
        self.target, self.window_ms, self.instances = target, window_ms, instances


class HalfSwitched(VarnishError):
    """The switch failed and at least one instance could not be put back."""


class Fleet:
    def __init__(self, addresses: tuple[Address, ...], secrets, timeout: float = 5.0,
                 connect=socket.create_connection, target=None, open_at_once: bool = False):
        secrets = secrets if isinstance(secrets, list | tuple) else [secrets] * len(addresses)
        self.addresses = addresses
        self._secret = dict(zip(addresses, secrets, strict=True))
        self._timeout, self._connect = timeout, connect
        self._open_at_once = open_at_once  # a connection that takes a while (ssh): all in parallel
        self.target = target or ActiveVcl()
        self.admins: list[VarnishAdmin] = []

    def _make(self, address: Address) -> VarnishAdmin:
        return VarnishAdmin(address, self._secret[address], timeout=self._timeout, connect=self._connect)

    def open(self) -> Fleet:
        """Connect and authenticate to every instance, or to none."""
        if self._open_at_once and len(self.addresses) > 1:
            return self._open_in_parallel()
        try:
            for address in self.addresses:
                self.admins.append(self._make(address).open())
        except BluegreenError:
            self.close()
            raise
        return self

    def _open_in_parallel(self) -> Fleet:
        """As open(), each connection on its own thread (each ends within its admin timeout)."""
        import threading

        self.admins = [self._make(address) for address in self.addresses]
        failed: list[BaseException | None] = [None] * len(self.admins)

        def connect(n: int) -> None:
            try:
                self.admins[n].open()
            except BaseException as exc:  # handed to the caller's thread below
                failed[n] = exc

        threads = [threading.Thread(target=connect, args=(n,), daemon=True) for n in range(len(failed))]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        except BaseException:  # Ctrl-C: what the threads open is closed once they are done
            for thread in threads:
                thread.join()
            self.close()
            raise
        first = next((exc for exc in failed if exc is not None), None)
        if first is not None:
            self.close()
            raise first
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
    def lives(self, listing: dict[str, list[dict]] | None = None) -> dict[str, str | None]:
        """{instance: the VCL it serves live} (the active VCL, or the label's target)."""
        listing = self.listing() if listing is None else listing
        return {inst: self.target.live(entries) for inst, entries in listing.items()}

    def listing(self) -> dict[str, list[dict]]:
        """{instance: vcl.list entries}, discarded ones left out: a discarded VCL is not there."""
        return {str(a.address): [e for e in a.vcl_list() if e.get("status") != "discarded"]
                for a in self.admins}

    def missing(self, name: str, listing: dict[str, list[dict]] | None = None) -> list[str]:
        listing = self.listing() if listing is None else listing
        return [inst for inst, entries in listing.items() if name not in {e["name"] for e in entries}]

    def probe_view(self, vcl: str, color: str, ours=None) -> dict[str, dict[str, str]]:
        """{instance: {backend: 'healthy'|'sick'|...}} for the color's servers.

        Each VCL probes its own backends, so the color is looked at in `vcl` (the one that will
        go live) and, when `ours(name)` says it is ours, in the live VCL too (it routes the
        preview header until the switch). Queried per color, so a large fleet's answer stays
        under cli_limit."""
        view = {}
        for admin in self.admins:
            names = [vcl]
            live = self.target.live(admin.vcl_list()) if ours else None
            if live and live != vcl and ours(live):
                names.append(live)
            found = {}
            for name in names:
                found.update(admin.backend_list(f"{named(name)}.{color}_*"))
            view[str(admin.address)] = found
        return view

    def wait_healthy(self, vcl: str, color: str, wait_s: float, ours=None) -> tuple[bool, str]:
        """Poll until every instance's probes see the color's backends healthy, or wait_s passes.

        A VCL just loaded or warmed starts with its backends sick until the probes pass: using
        it, or judging it, at once would send requests to 'no backend'."""
        end = time.monotonic() + wait_s
        delay = 0.05
        while True:
            view = self.probe_view(vcl, color, ours)
            sick = {i: {b: h for b, h in backends.items() if h != "healthy"} or "no backends"
                    for i, backends in view.items()
                    if not backends or any(h != "healthy" for h in backends.values())}
            if not sick or time.monotonic() >= end:
                return not sick, "; ".join(f"{i}: {b}" for i, b in sick.items())
            time.sleep(min(delay, max(0.0, end - time.monotonic())))
            delay = min(delay * 2, 0.5)

    # -- phase 1 --------------------------------------------------------------------------------
    def prepare(self, vcls: dict[str, str], compile_timeout: float = COMPILE_TIMEOUT_S) -> list[str]:
        """Load every {name: source} where missing, on every instance at once; warm what is not.

        A VCL that was discarded but is still busy counts as absent: its name is waited for."""
        done = []
        for name, source in vcls.items():
            loading = []
            for admin in self.admins:
                entry = self._entry(admin, name, compile_timeout)
                if entry is None:
                    admin.send_inline(name, source, "warm")
                    loading.append(admin)
                elif _needs_warming(entry):
                    admin.vcl_state(name, "warm")
                    done.append(f"warmed {name} on {admin.address}")
            failures = []
            for admin in loading:
                try:
                    admin.inline_reply(name, compile_timeout)
                    done.append(f"loaded {name} on {admin.address}")
                except BluegreenError as exc:
                    failures.append(exc)
            if failures:
                raise failures[0]
        return done

    def _entry(self, admin: VarnishAdmin, name: str, wait_s: float) -> dict | None:
        """The VCL's entry on one instance; None when absent (after a discarded one is gone)."""
        end = time.monotonic() + wait_s
        while True:
            entry = next((e for e in admin.vcl_list() if e["name"] == name), None)
            if entry is None or entry.get("status") != "discarded":
                return entry
            if time.monotonic() >= end:
                raise VarnishError(f"VCL {name} on {admin.address} was discarded but is still busy "
                                   f"after {wait_s:g} s, so it cannot be loaded again yet: retry later")
            time.sleep(0.2)

    # -- phase 2 --------------------------------------------------------------------------------
    def switch(self, target: str, expected: dict[str, str | None], stage: str) -> SwitchResult:
        listing = self.listing()  # one vcl.list per instance answers both checks below
        lives = self.lives(listing)
        moved = {i: (expected.get(i), v) for i, v in lives.items() if v not in (expected.get(i), target)}
        if moved:
            detail = ", ".join(f"{i} serves {now} (planned from {was})" for i, (was, now) in moved.items())
            raise Refused(f"stage {stage} changed since this run planned: {detail}; another "
                          f"pipeline got there first: run 'passive --stage {stage}' to plan again")
        lacking = self.missing(target, listing)
        if lacking:
            raise Refused(f"VCL {target} is not loaded on {', '.join(lacking)}: run 'deploy' "
                          "for this stage again to load it")
        line = (self.target.move(target) + "\n").encode()
        replies: dict[int, Reply | VarnishError] = {}
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
            failed = {n: r for n, r in replies.items() if isinstance(r, VarnishError) or not r.ok}
            if failed:
                self._revert(replies, failed, expected, target, stage)
            self._recheck(target, expected, stage)
        return SwitchResult(target, window_ms, len(self.admins))

    def _recheck(self, target: str, expected: dict, stage: str) -> None:
        """Read back what every instance serves: another run may have moved one in between
        (the compare-and-swap and the move are two commands). If so, this run lost: it puts
        back what it moved and refuses; the other run's own re-check sees the same."""
        lives = self.lives()
        foreign = {i: v for i, v in lives.items() if v != target}
        if not foreign:
            return
        notes = [self._put_back(a, expected[str(a.address)]) for a in self.admins
                 if lives.get(str(a.address)) == target]
        detail = ", ".join(f"{i} serves {v}" for i, v in foreign.items())
        message = (f"switch of stage {stage} to {target} lost a race: {detail} (another run switched "
                   f"at the same time); " + "; ".join(notes))
        if any("could NOT" in n for n in notes):
            raise HalfSwitched(message)
        raise Refused(message + f"; run 'status --stage {stage}', then plan again")

    def _revert(self, replies, failed, expected, target, stage) -> None:
        notes, stuck = [], []
        for n, admin in enumerate(self.admins):
            inst = str(admin.address)
            if n in failed:
                reply = failed[n]
                said = reply.message if isinstance(reply, VarnishError) else reply.describe()
                notes.append(f"{inst} answered {said}")
                if isinstance(reply, VarnishError):  # unknown outcome: put it back on a new connection
                    note = self._put_back(self._make(admin.address), expected[inst], fresh=True)
                    notes.append(note)
                    stuck += [inst] if "could NOT" in note else []
            else:
                note = self._put_back(admin, expected[inst])
                notes.append(note)
                stuck += [inst] if "could NOT" in note else []
        if stuck:
            raise HalfSwitched(
                f"switch of stage {stage} to {target} FAILED and the stage is left HALF SWITCHED: "
                f"{', '.join(stuck)} may still serve {target} or switch to it when it answers again; "
                f"run 'status --stage {stage}', then 'switch --stage {stage}' to finish the switch "
                f"or 'reconcile --stage {stage}' to put the recorded color back. Details: "
                + "; ".join(n for n in notes if n))
        raise VarnishError(f"switch of stage {stage} to {target} failed, reverted: "
                           + "; ".join(n for n in notes if n))

    def _put_back(self, admin: VarnishAdmin, name: str | None, fresh: bool = False) -> str:
        inst = str(admin.address)
        if name is None:
            return f"{inst} could NOT be switched back (nothing of ours served before)"
        try:
            if fresh:
                admin.open()
            admin.call(self.target.move(name))
            return f"{inst} switched back to {name}"
        except BluegreenError as exc:
            return f"{inst} could NOT be switched back to {name} ({exc.message})"
        finally:
            if fresh:
                admin.close()

    def move(self, name: str) -> list[str]:
        """Make `name` live on every instance not already serving it (reconcile); the fixed ones."""
        fixed = []
        for admin, live in zip(self.admins, self.lives().values(), strict=True):
            if live != name:
                admin.call(self.target.move(name))
                fixed.append(str(admin.address))
        return fixed

    # -- after the switch -----------------------------------------------------------------------
    def ban(self, expression: str) -> None:
        """The same ban on every instance."""
        for admin in self.admins:
            admin.ban(expression)

    def settle(self, ours, warm: set[str]) -> list[str]:
        """Let our VCLs other than `warm` (live and rollback target) cool down: state auto.

        Every warm VCL probes every backend; seven kept VCLs were seven probes a second per
        backend per instance. Varnish cools an `auto` VCL after vcl_cooldown."""
        done = []
        for admin in self.admins:
            for entry in admin.vcl_list():
                name = entry["name"]
                if ours(name) and name not in warm and entry.get("state") == "warm" \
                        and entry.get("status") == "available" and not entry.get("labels"):
                    admin.vcl_state(name, "auto")
                    done.append(f"cooling {name} on {admin.address}")
        return done

    def housekeep(self, ours, keep: int, protect: set[str]) -> list[str]:
        """Discard our VCLs beyond `keep` per color (oldest first), never protected or labelled ones.

        `ours(name)` gives the color of a VCL this tool made and may discard, None for anything
        else (a VCL another tool or another app made is never touched)."""
        gone = []
        for admin in self.admins:
            entries = [e for e in admin.vcl_list() if e.get("status") != "discarded"]
            targets = {(e.get("label") or {}).get("name") for e in entries if e.get("state") == "label"}
            for color in ("blue", "green"):
                mine = [e for e in entries if ours(e["name"]) == color]
                for entry in mine[:-keep] if len(mine) > keep else []:
                    name = entry["name"]
                    if entry.get("status") == "active" or name in protect or name in targets \
                            or entry.get("labels"):
                        continue
                    admin.vcl_discard(name)
                    gone.append(f"discarded {name} on {admin.address}")
        return gone


def _needs_warming(entry: dict) -> bool:
    """A VCL about to be used or judged must be warm and stay warm: an `auto` VCL that is not
    active cools down after vcl_cooldown (and stops probing) even while it still reads warm."""
    if entry.get("status") == "active" or entry.get("labels") or entry.get("state") == "label":
        return False
    return entry.get("state") != "warm" or entry.get("temperature", "warm") != "warm"


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
