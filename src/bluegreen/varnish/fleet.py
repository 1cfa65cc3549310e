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
import threading
import time
from contextlib import contextmanager

from bluegreen.errors import BluegreenError, Refused, VarnishError
from bluegreen.model import Address
from bluegreen.varnish.admin import COMPILE_TIMEOUT_S, VCL_LIST, Reply, VarnishAdmin, backends_line, named
from bluegreen.varnish.targets import ActiveVcl


class SwitchResult:
    __slots__ = ("target", "window_ms", "instances")

    def __init__(self, target: str, window_ms: float, instances: int):
        self.target, self.window_ms, self.instances = target, window_ms, instances


class HalfSwitched(VarnishError):
    """The switch failed and at least one instance could not be put back."""


class Fleet:
    def __init__(self, addresses: tuple[Address, ...], secrets, timeout: float = 5.0,
                 connect=socket.create_connection, target=None):
        secrets = secrets if isinstance(secrets, list | tuple) else [secrets] * len(addresses)
        self.addresses = addresses
        self._secret = dict(zip(addresses, secrets, strict=True))
        self._timeout, self._connect = timeout, connect
        self.target = target or ActiveVcl()
        self.admins: list[VarnishAdmin] = []

    def _make(self, address: Address) -> VarnishAdmin:
        return VarnishAdmin(address, self._secret[address], timeout=self._timeout, connect=self._connect)

    def open(self) -> Fleet:
        """Connect and authenticate to every instance, or to none: all at once, each on its own
        thread (a far instance, or an ssh admin_command, takes a while; each ends within its
        admin timeout), so opening waits for the slowest, not for their sum."""
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

    # -- asking every instance at once -----------------------------------------------------------
    def ask(self, lines: str | dict[VarnishAdmin, list[str]], check: bool = True
            ) -> dict[VarnishAdmin, list[Reply]]:
        """Send `lines` (one command for every instance, or each instance its own commands) to
        every instance before reading any reply: a step waits for the farthest instance once,
        not for each in turn. Every reply is read (the connections stay in step) before the first
        failure is raised; with check, a refusal is a failure."""
        asked = {a: [lines] if isinstance(lines, str) else list(lines.get(a, ())) for a in self.admins}
        replies: dict[VarnishAdmin, list[Reply]] = {}
        failures: list[VarnishError] = []
        for admin, commands in asked.items():
            try:
                admin.send("".join(c + "\n" for c in commands).encode())
            except VarnishError as exc:
                failures.append(exc)
                asked[admin] = []
        for admin, commands in asked.items():
            replies[admin] = []
            for command in commands:
                try:
                    reply = admin.recv()
                except VarnishError as exc:
                    failures.append(exc)
                    break
                replies[admin].append(reply)
                if check:
                    try:
                        admin.check(reply, command)
                    except VarnishError as exc:
                        failures.append(exc)
        if failures:
            raise failures[0]
        return replies

    # -- reading --------------------------------------------------------------------------------
    def lives(self, listing: dict[str, list[dict]] | None = None) -> dict[str, str | None]:
        """{instance: the VCL it serves live} (the active VCL, or the label's target)."""
        listing = self.listing() if listing is None else listing
        return {inst: self.target.live(entries) for inst, entries in listing.items()}

    def listing(self, discarded: bool = False) -> dict[str, list[dict]]:
        """{instance: vcl.list entries}, discarded ones left out unless asked for: a discarded VCL
        is not there (but its name may still be busy)."""
        replies = self.ask(VCL_LIST)
        return {str(a.address): [e for e in a.vcl_entries(replies[a][0])
                                 if discarded or e.get("status") != "discarded"]
                for a in self.admins}

    def missing(self, name: str, listing: dict[str, list[dict]] | None = None) -> list[str]:
        listing = self.listing() if listing is None else listing
        return [inst for inst, entries in listing.items() if name not in {e["name"] for e in entries}]

    def probe_view(self, vcl: str, color: str, ours=None, on: set[str] | None = None
                   ) -> dict[str, dict[str, str]]:
        """{instance: {backend: 'healthy'|'sick'|...}} for the color's servers.

        Each VCL probes its own backends, so the color is looked at in `vcl` (the one that will
        go live) and, when `ours(name)` says it is ours, in the live VCL too (it routes the
        preview header until the switch). Queried per color, so a large fleet's answer stays
        under cli_limit."""
        lives = self.lives() if ours else {}
        patterns = {}
        for admin in self.admins:
            if on is not None and str(admin.address) not in on:
                continue
            live = lives.get(str(admin.address))
            names = [vcl] + ([live] if live and live != vcl and ours(live) else [])
            patterns[admin] = [f"{named(name)}.{color}_*" for name in names]
        replies = self.ask({a: [backends_line(p) for p in ps] for a, ps in patterns.items()}, check=False)
        view: dict = {}
        plain: dict = {}
        for admin, ps in patterns.items():
            found: dict[str, str] = {}
            for pattern, reply in zip(ps, replies[admin], strict=True):
                got = admin.backends(reply, backends_line(pattern))
                if got is None:  # Varnish 6.0: no -j for backend.list
                    plain.setdefault(admin, []).append(pattern)
                else:
                    found.update(got)
            view[admin] = found
        if plain:
            again = self.ask({a: [backends_line(p, plain=True) for p in ps] for a, ps in plain.items()})
            for admin, answered in again.items():
                for reply in answered:
                    view[admin].update(admin.backends(reply, ""))
        return {str(a.address): found for a, found in view.items()}

    def wait_healthy(self, vcl: str, color: str, wait_s: float, ours=None,
                     on: set[str] | None = None) -> tuple[bool, str]:
        """Poll until every instance's probes see the color's backends healthy, or wait_s passes.

        A VCL just loaded or warmed starts with its backends sick until the probes pass: using
        it, or judging it, at once would send requests to 'no backend'."""
        end = time.monotonic() + wait_s
        delay = 0.05
        while True:
            view = self.probe_view(vcl, color, ours, on)
            sick = {i: {b: h for b, h in backends.items() if h != "healthy"} or "no backends"
                    for i, backends in view.items()
                    if not backends or any(h != "healthy" for h in backends.values())}
            if not sick or time.monotonic() >= end:
                return not sick, "; ".join(f"{i}: {b}" for i, b in sick.items())
            time.sleep(min(delay, max(0.0, end - time.monotonic())))
            delay = min(delay * 2, 0.5)

    # -- phase 1 --------------------------------------------------------------------------------
    def prepare(self, vcls: dict[str, str | None], compile_timeout: float = COMPILE_TIMEOUT_S,
                on: set[str] | None = None) -> list[str]:
        """Load every {name: source} where missing, on every instance (or those named in `on`)
        at once; warm what is not.

        A VCL that was discarded but is still busy counts as absent: its name is waited for."""
        done = []
        for name, source in vcls.items():
            entries = self._entries(name, compile_timeout)
            admins = [a for a in self.admins if on is None or str(a.address) in on]
            loading = [a for a in admins if entries[a] is None]
            cold = [a for a in admins if entries[a] is not None and _needs_warming(entries[a])]
            for admin in loading:
                admin.send_inline(name, source, "warm")
            self.ask({a: [f"vcl.state {named(name)} warm"] for a in cold})
            done += [f"warmed {name} on {a.address}" for a in cold]
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

    def _entries(self, name: str, wait_s: float) -> dict[VarnishAdmin, dict | None]:
        """The VCL's entry on each instance; None where absent (once a discarded one is gone)."""
        end = time.monotonic() + wait_s
        while True:
            listing = self.listing(discarded=True)
            entries = {a: next((e for e in listing[str(a.address)] if e["name"] == name), None)
                       for a in self.admins}
            busy = [a for a, e in entries.items() if e is not None and e.get("status") == "discarded"]
            if not busy:
                return entries
            if time.monotonic() >= end:
                raise VarnishError(f"VCL {name} on {busy[0].address} was discarded but is still busy "
                                   f"after {wait_s:g} s, so it cannot be loaded again yet: retry later")
            time.sleep(0.2)

    # -- phase 2 --------------------------------------------------------------------------------
    def switch(self, target: str | dict[str, str], expected: dict[str, str | None],
               stage: str) -> SwitchResult:
        """Make `target` live everywhere (or, a rollback, each instance its own {instance: VCL}),
        compare-and-swap on `expected`, what each instance served when this run looked."""
        targets = target if isinstance(target, dict) else {str(a.address): target for a in self.admins}
        listing = self.listing()  # one vcl.list per instance answers both checks below
        lives = self.lives(listing)
        moved = {i: (expected.get(i), v) for i, v in lives.items() if v not in (expected.get(i), targets[i])}
        if moved:
            detail = ", ".join(f"{i} serves {now} (planned from {was})" for i, (was, now) in moved.items())
            raise Refused(f"stage {stage} changed since this run planned: {detail}; another "
                          f"pipeline got there first: run 'passive --stage {stage}' to plan again")
        lacking = [i for i in lives if targets[i] not in {e["name"] for e in listing[i]}]
        if lacking:
            raise Refused(f"VCL {', '.join(sorted({targets[i] for i in lacking}))} is not loaded on "
                          f"{', '.join(lacking)}: run 'deploy' for this stage again to load it")
        lines = {a: (self.target.move(targets[str(a.address)]) + "\n").encode() for a in self.admins}
        replies: dict[int, Reply | VarnishError] = {}
        with _signals_deferred():
            start = time.perf_counter()
            for n, admin in enumerate(self.admins):
                try:
                    admin.send(lines[admin])
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
            shown = _shown(targets)
            if failed:
                self._revert(replies, failed, expected, shown, stage)
            self._recheck(targets, expected, stage)
        return SwitchResult(shown, window_ms, len(self.admins))

    def _recheck(self, targets: dict[str, str], expected: dict, stage: str) -> None:
        """Read back what every instance serves: another run may have moved one in between
        (the compare-and-swap and the move are two commands). If so, this run lost: it puts
        back what it moved and refuses; the other run's own re-check sees the same."""
        lives = self.lives()
        foreign = {i: v for i, v in lives.items() if v != targets[i]}
        if not foreign:
            return
        target = _shown(targets)
        notes = [self._put_back(a, expected[str(a.address)]) for a in self.admins
                 if lives.get(str(a.address)) == targets[str(a.address)]]
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
        lives = self.lives()
        wrong = [a for a in self.admins if lives[str(a.address)] != name]
        self.ask({a: [self.target.move(name)] for a in wrong})
        return [str(a.address) for a in wrong]

    # -- after the switch -----------------------------------------------------------------------
    def ban(self, expression: str) -> None:
        """The same ban on every instance, all at once."""
        self.ask(f"ban {expression}")


def _shown(targets: dict[str, str]) -> str:
    """The target of a move as a message names it: the one VCL, or each instance's."""
    names = set(targets.values())
    return names.pop() if len(names) == 1 else ", ".join(f"{i}: {v}" for i, v in targets.items())


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
