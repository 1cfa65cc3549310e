#!/usr/bin/env python3
"""Deploy a release of the sample app onto one server: deploy.py HOST PORT RELEASE COLOR
(or `python -m bluegreen.sampleapp.deploy HOST PORT RELEASE COLOR`).

Stops the instance running on HOST:PORT (if any), starts the new release there, and waits
until it accepts connections. Pid and log files live in $SAMPLEAPP_RUN_DIR
(default /tmp/bluegreen-sampleapp).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # holds bluegreen/: the app runs from it


def stop(pidfile: Path, deadline_s: float = 10.0) -> None:
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def wait_listening(host: str, port: int, proc: subprocess.Popen, deadline_s: float = 10.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def app_environ() -> dict:
    """The app's environment: this bluegreen importable even when deploy.py runs by its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    return env


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: deploy.py HOST PORT RELEASE COLOR", file=sys.stderr)
        return 2
    host, port, release, color = argv[0], int(argv[1]), argv[2], argv[3]
    run_dir = Path(os.environ.get("SAMPLEAPP_RUN_DIR", "/tmp/bluegreen-sampleapp"))
    run_dir.mkdir(parents=True, exist_ok=True)
    pidfile = run_dir / f"{host}_{port}.pid"
    stop(pidfile)
    log = run_dir / f"{host}_{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bluegreen.sampleapp.app", "--host", host, "--port", str(port),
             "--color", color, "--release", release],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            env=app_environ())
    pidfile.write_text(str(proc.pid))
    if not wait_listening(host, port, proc):
        print(f"sample app {release} did not start listening on {host}:{port}; see {log}",
              file=sys.stderr)
        return 1
    print(f"sample app {release} ({color}) running on {host}:{port}, pid {proc.pid}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
