"""Run the deploy command once per server of the passive color: in parallel, no shell, timed."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bluegreen.config import Address
from bluegreen.errors import UsageError

RELEASE_RE = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f-][^\s\x00-\x1f\x7f-\x9f]{0,127}$")


def check_release(release: str | None) -> str:
    if not release:
        raise UsageError("--version is required: name the release to deploy, e.g. --version 1.5.0")
    if not RELEASE_RE.match(release):
        raise UsageError(f"--version {release!r} is not a usable release: it must not start with "
                         "'-' or hold spaces or control characters (at most 128 characters)")
    return release


def fill(argv: tuple[str, ...], values: dict[str, str]) -> list[str]:
    """Substitute {name} placeholders in each argument; nothing is ever parsed by a shell."""
    return [re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), arg) for arg in argv]


@dataclass
class Outcome:
    server: Address
    ok: bool
    detail: str
    seconds: float = 0.0


def run_one(argv: list[str], cwd: Path, timeout: float, server: Address,
            run: Callable = subprocess.run) -> Outcome:
    import time

    start = time.monotonic()
    try:
        proc = run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(server, False, f"timed out after {timeout:g} s", time.monotonic() - start)
    except OSError as exc:
        return Outcome(server, False, f"could not run {argv[0]}: {exc.strerror}",
                       time.monotonic() - start)
    took = time.monotonic() - start
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip().splitlines()
        return Outcome(server, False, f"exit {proc.returncode}: {tail[-1] if tail else 'no output'}", took)
    return Outcome(server, True, "deployed", took)


def run_all(jobs: list[tuple[Address, list[str]]], cwd: Path, parallel: int, timeout: float,
            on_done: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs) or 1))) as pool:
        futures = [pool.submit(run_one, argv, cwd, timeout, server) for server, argv in jobs]
        outcomes = []
        for future in futures:
            outcome = future.result()
            on_done(outcome)
            outcomes.append(outcome)
    return outcomes
