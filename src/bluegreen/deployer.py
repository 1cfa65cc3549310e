"""Run the deploy command once per server of the passive color: in parallel, no shell, timed."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bluegreen import commands
from bluegreen.config import Address
from bluegreen.errors import UsageError

RELEASE_RE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f-][^\s\x00-\x1f\x7f-\x9f]{0,127}")
fill = commands.fill


def check_release(release: str | None) -> str:
    if not release:
        raise UsageError("--version is required: name the release to deploy, e.g. --version 1.5.0")
    if not RELEASE_RE.fullmatch(release):
        raise UsageError(f"--version {release!r} is not a usable release: it must not start with "
                         "'-' or hold spaces or control characters (at most 128 characters)")
    return release


@dataclass
class Outcome:
    server: Address
    ok: bool
    detail: str
    seconds: float = 0.0


def run_one(argv: list[str], cwd: Path, timeout: float, server: Address,
            pass_secrets: bool = False) -> Outcome:
    done = commands.run(argv, cwd, timeout, pass_secrets)
    return Outcome(server, done.ok, "deployed" if done.ok else done.describe(), done.seconds)


def run_all(jobs: list[tuple[Address, list[str]]], cwd: Path, parallel: int, timeout: float,
            on_done: Callable[[Outcome], None] = lambda o: None,
            pass_secrets: bool = False) -> list[Outcome]:
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(jobs) or 1)))
    try:
        futures = [pool.submit(run_one, argv, cwd, timeout, server, pass_secrets)
                   for server, argv in jobs]
        outcomes = []
        for future in futures:
            outcome = future.result()
            on_done(outcome)
            outcomes.append(outcome)
        return outcomes
    except BaseException:  # Ctrl-C reaches this thread only: stop the commands of the others
        commands.kill_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
