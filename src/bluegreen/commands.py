"""The one way bluegreen runs an outside command: deploy, smoke, schema migrations, retire.

`run` runs one; `per_server` runs one per server of a color, up to `parallel` at a time.

An argv list (never a shell), in its own session and process group, with a timeout that kills
the whole group (grandchildren included), as does Ctrl-C or an aborted build. The credentials
bluegreen holds (the Varnish secret file, the Jenkins token) are kept out of the command's
environment unless the configuration passes them on.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bluegreen.errors import ConfigError
from bluegreen.model import Address

SECRET_ENV = ("BLUEGREEN_SECRET_FILE", "JENKINS_USER", "JENKINS_API_TOKEN")
KILL_GRACE_S = 2.0
OUTPUT_LIMIT = 1 << 20

_running: set[int] = set()
_lock = threading.Lock()
_guard_lock = threading.Lock()  # guards ask through one connection per instance: one at a time


def fill(argv: tuple[str, ...] | list[str], values: dict[str, str]) -> list[str]:
    """Substitute {name} placeholders in each argument; nothing is ever parsed by a shell."""
    return [re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), arg) for arg in argv]


def for_instance(template, instance, names: dict[str, str], names_key: str, **extra: str) -> list[str]:
    """The argv of a Varnish tool for one instance (its admin Address): {host}, {port},
    {instance}, and {name}, that instance's varnishd -n from the table `names_key`."""
    values = {"host": instance.host, "port": str(instance.port), "instance": str(instance), **extra}
    if any("{name}" in arg for arg in template):
        if str(instance) not in names:
            raise ConfigError(f"{names_key}: has no varnishd -n name for {instance}: add "
                              f'"{instance}" = "<its -n name>"')
        values["name"] = names[str(instance)]
    return fill(template, values)


class Finished:
    """How a command ended: exit code (None if it never ran or was killed), output, duration."""

    __slots__ = ("argv", "code", "output", "seconds", "problem")

    def __init__(self, argv, code, output: str, seconds: float, problem: str | None = None):
        self.argv, self.code, self.output, self.seconds, self.problem = argv, code, output, seconds, problem

    @property
    def ok(self) -> bool:
        return self.problem is None and self.code == 0

    def tail(self, lines: int = 1) -> str:
        text = self.output.strip().splitlines()
        return "\n".join(text[-lines:]) if text else "no output"

    def describe(self, lines: int = 1) -> str:
        """'exit 2: <last line of output>', 'timed out after 5 s', 'could not run ./x: ...'."""
        if self.problem:
            return self.problem
        return f"exit {self.code}: {self.tail(lines)}"


def environment(pass_secrets: bool = False, base: Mapping[str, str] | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    if not pass_secrets:
        for key in SECRET_ENV:
            env.pop(key, None)
    return env


def run(argv: list[str], cwd: Path, timeout: float, pass_secrets: bool = False,
        env: Mapping[str, str] | None = None) -> Finished:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env=environment(pass_secrets, env))
    except OSError as exc:
        return Finished(argv, None, "", 0.0, f"could not run {argv[0]}: {exc.strerror or exc}")
    with _lock:
        _running.add(proc.pid)
    try:
        output, problem = _wait(proc, timeout)
    except BaseException:  # Ctrl-C, SIGTERM turned into an interrupt: take the group down too
        _kill_group(proc.pid, proc)
        proc.wait()
        raise
    finally:
        with _lock:
            _running.discard(proc.pid)
    text = output[-OUTPUT_LIMIT:].decode("utf-8", "replace")
    return Finished(argv, None if problem else proc.returncode, text, time.monotonic() - start, problem)


def _wait(proc: subprocess.Popen, timeout: float) -> tuple[bytes, str | None]:
    try:
        output, _ = proc.communicate(timeout=timeout)
        return output or b"", None
    except subprocess.TimeoutExpired:
        exited = proc.poll() is not None
        _kill_group(proc.pid, proc)
        try:
            output, _ = proc.communicate(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:  # a process outside its group holds the output open
            proc.kill()
            output = b""
        if exited:  # it ended, but left processes behind that held its output open
            return output or b"", None
        return output or b"", f"timed out after {timeout:g} s (its process group was killed)"


def kill_all() -> None:
    """Kill every command still running (on Ctrl-C in the thread that waits for them)."""
    with _lock:
        pids = list(_running)
    for pid in pids:
        _kill_group(pid)


def _kill_group(pid: int, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM to the group, then SIGKILL to whatever is left of it after a grace period."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + KILL_GRACE_S
    while time.monotonic() < end:
        if proc is not None:
            proc.poll()  # reap the leader, so only live members keep the group alive
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Running:
    """A long-running command (a log reader for a whole watch, an admin connection's transport):
    its own process group, its output read by the caller (line by line from pipes, or through
    the socket or file given as stdin, stdout, stderr), and the whole group stopped by `stop()`."""

    def __init__(self, argv: list[str], cwd: Path | None = None, pass_secrets: bool = False,
                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
        self.argv = argv
        try:
            self.proc = subprocess.Popen(argv, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
                                         start_new_session=True, env=environment(pass_secrets),
                                         text=True, errors="replace", bufsize=1)
        except OSError as exc:
            self.proc, self.problem = None, f"could not run {argv[0]}: {exc.strerror or exc}"
            return
        self.problem = None
        with _lock:
            _running.add(self.proc.pid)

    def exited(self) -> int | None:
        """The exit code once it ended (-1 when it never ran), else None."""
        if self.proc is None:
            return -1
        return self.proc.poll()

    def stop(self, grace: float = 0.0) -> None:
        """End the whole group: after `grace` seconds for the command to end by itself first
        (one whose input was closed), SIGTERM, then SIGKILL to whatever is left."""
        if self.proc is None:
            return
        if grace > 0:
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(self.proc.pid, self.proc)
        self.proc.wait()
        with _lock:
            _running.discard(self.proc.pid)


# -- once per server (deploy, retire) ------------------------------------------------------------

@dataclass
class Outcome:
    server: Address
    ok: bool
    detail: str
    seconds: float = 0.0


def run_one(argv: list[str], cwd: Path, timeout: float, server: Address,
            pass_secrets: bool = False, guard: Callable[[], str | None] | None = None) -> Outcome:
    """One server's command; with `guard`, asked right before it runs: a reason not to (a
    sentence) makes the outcome a failure and the command is not run."""
    if guard is not None:
        with _guard_lock:
            refused = guard()
        if refused:
            return Outcome(server, False, f"not run: {refused}")
    done = run(argv, cwd, timeout, pass_secrets)
    return Outcome(server, done.ok, "deployed" if done.ok else done.describe(), done.seconds)


def per_server(jobs: list[tuple[Address, list[str]]], cwd: Path, parallel: int, timeout: float,
               on_done: Callable[[Outcome], None] = lambda o: None, pass_secrets: bool = False,
               guard: Callable[[], str | None] | None = None) -> list[Outcome]:
    """`run_one` for every (server, argv), up to `parallel` at a time, in their order."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs) or 1)))
    try:
        futures = [pool.submit(run_one, argv, cwd, timeout, server, pass_secrets, guard)
                   for server, argv in jobs]
        outcomes = []
        for future in futures:
            outcome = future.result()
            on_done(outcome)
            outcomes.append(outcome)
        return outcomes
    except BaseException:  # Ctrl-C reaches this thread only: stop the commands of the others
        kill_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
