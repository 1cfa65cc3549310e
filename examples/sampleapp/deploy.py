#!/usr/bin/env python3
"""Deploy a release of the sample app onto one server: deploy.py HOST PORT RELEASE COLOR.

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

HERE = Path(__file__).resolve().parent


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


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: deploy.py HOST PORT RELEASE COLOR", file=sys.stderr)
        return 2
    host, port, release, color = argv[0], int(argv[1]), argv[2], argv[3]
    run_dir = Path(os.environ.get("SAMPLEAPP_RUN_DIR", "/tmp/bluegreen-sampleapp"))
    run_dir.mkdir(parents=True, exist_ok=True)
    pidfile = run_dir / f"{host}_{port}.pid"
    stop(pidfile)
    log = open(run_dir / f"{host}_{port}.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "app.py"), "--host", host, "--port", str(port),
         "--color", color, "--release", release],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    pidfile.write_text(str(proc.pid))
    if not wait_listening(host, port, proc):
        print(f"sample app {release} did not start listening on {host}:{port}; see {log.name}",
              file=sys.stderr)
        return 1
    print(f"sample app {release} ({color}) running on {host}:{port}, pid {proc.pid}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
