"""Start real processes on this machine: a varnishd and sample app servers (demo, tests, bench)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bluegreen.errors import BluegreenError, DependencyError
from bluegreen.model import Address
from bluegreen.varnish.admin import VarnishAdmin

SAMPLEAPP = Path(__file__).resolve().parent / "sampleapp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shared_tempdir(prefix: str) -> Path:
    """A temporary folder varnishd's child (user vcache) can read: 0755, not mkdtemp's 0700."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def write_secret(path: Path) -> Path:
    path.write_text(secrets.token_hex(16) + "\n")
    path.chmod(0o600)
    return path


def wait_for(condition, deadline_s: float, what: str, step: float = 0.02):
    """Poll until condition() is truthy; raise naming what was awaited and the last value seen."""
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        last = condition()
        if last:
            return last
        time.sleep(step)
    raise TimeoutError(f"{what} not reached within {deadline_s:g} s (last seen: {last!r})")


class LocalVarnish:
    """One varnishd with its own -n work directory, loopback ports and secret file."""

    def __init__(self, root: Path, secret: Path, name: str = "varnish", listeners: tuple[str, ...] = ()):
        if not shutil.which("varnishd") and not Path("/usr/sbin/varnishd").exists():
            raise DependencyError("varnishd is not installed: apt-get install -y varnish")
        self.root, self.secret_path, self.name = Path(root), Path(secret), name
        self.http = Address("127.0.0.1", free_port())
        self.admin = Address("127.0.0.1", free_port())
        # more named listeners (-a NAME=address), e.g. a preview listener
        self.listeners = {n: Address("127.0.0.1", free_port()) for n in listeners}
        self.proc: subprocess.Popen | None = None

    @property
    def workdir(self) -> Path:
        return self.root / self.name

    def start(self, deadline_s: float = 30.0, tries: int = 3) -> LocalVarnish:
        """Start it; a port another process took between free_port() and the bind gets new ports."""
        log = self.root / f"{self.name}.log"
        for attempt in range(tries):
            seen = log.stat().st_size if log.exists() else 0
            try:
                return self._start(deadline_s)
            except DependencyError:
                with open(log, "rb") as fh:
                    fh.seek(seen)
                    said = fh.read().decode("utf-8", "replace")
                if attempt + 1 == tries or "in use" not in said:
                    raise
                self.http, self.admin = Address("127.0.0.1", free_port()), Address("127.0.0.1", free_port())
        raise AssertionError("unreachable")

    def _start(self, deadline_s: float) -> LocalVarnish:
        binary = shutil.which("varnishd") or "/usr/sbin/varnishd"
        with open(self.root / f"{self.name}.log", "ab") as log:
            self.proc = subprocess.Popen(
                [binary, "-F", "-n", str(self.workdir), "-a", str(self.http),
                 *[arg for n, a in self.listeners.items() for arg in ("-a", f"{n}={a}")],
                 "-T", str(self.admin),
                 "-S", str(self.secret_path), "-b", "none", "-s", "malloc,64m",
                 "-p", "vcl_cooldown=5", "-p", "thread_pool_min=20"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            wait_for(self._ready, deadline_s, f"varnishd {self.name} on {self.admin}", 0.05)
        except TimeoutError as exc:
            self.stop()
            raise DependencyError(f"{exc}; see {self.root / (self.name + '.log')}") from None
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise DependencyError(f"varnishd {self.name} exited with {self.proc.returncode}; see "
                                  f"{self.root / (self.name + '.log')}")
        try:
            with self.connect() as admin:
                return "running" in admin.call("status").body
        except BluegreenError:
            return False

    def connect(self) -> VarnishAdmin:
        return VarnishAdmin(self.admin, self.secret_path.read_bytes(), timeout=5).open()

    def stop(self) -> None:
        stop_group(self.proc, 10)


def stop_group(proc: subprocess.Popen | None, grace_s: float) -> None:
    """SIGTERM a process started in its own session, with its whole group; SIGKILL after grace_s."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def deploy_command() -> list[str]:
    return [sys.executable, "-m", "bluegreen.sampleapp.deploy", "{host}", "{port}", "{version}", "{color}"]


def stop_sample_apps(run_dir: Path) -> None:
    """Stop every sample app whose pid file is in run_dir."""
    for pidfile in Path(run_dir).glob("*.pid"):
        try:
            pid = int(pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        else:
            try:
                wait_for(lambda p=pid: not alive(p), 10, f"sample app pid {pid} to exit")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
