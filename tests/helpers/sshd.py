"""A real OpenSSH server for the tests: loopback port, its own host key, config, authorized key.

Run as root (as the tests and CI run), it lets root in with one throwaway client key, restricted
to forwarding to loopback: `ssh -W 127.0.0.1:PORT` through it is what an admin_command does.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from bluegreen.demo import local
from tests.helpers import ports

SSHD = Path("/usr/sbin/sshd")  # sshd must be started by its absolute path (it re-executes itself)
PRIVSEP_DIR = Path("/run/sshd")  # compiled into Debian's sshd; its service unit makes it at boot

CONFIG = """\
ListenAddress 127.0.0.1:{port}
HostKey {root}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding local
PermitOpen 127.0.0.1:*
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
"""


class LocalSshd:
    def __init__(self, root: Path):
        self.root = root / "sshd"
        self.port = ports.free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def log(self) -> str:
        path = self.root / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> LocalSshd:
        if not SSHD.exists() or os.geteuid() != 0:
            pytest.skip(f"needs {SSHD} (apt-get install -y openssh-server) and root")
        self.root.mkdir(parents=True)
        for name in ("host_key", "client_key", "stranger_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,
                            "-f", str(self.root / name)], check=True, capture_output=True)
        # restricted as docs/varnish.md advises: forwarding to the admin port, nothing else
        (self.root / "authorized_keys").write_text('restrict,port-forwarding,permitopen="127.0.0.1:*" '
                                                   + (self.root / "client_key.pub").read_text())
        host_key = (self.root / "host_key.pub").read_text().split()
        (self.root / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        (self.root / "sshd_config").write_text(CONFIG.format(port=self.port, root=self.root))
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with open(self.root / "sshd.log", "wb") as log:
            self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config")],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        local.wait_for(lambda: "Server listening" in self.log or self.proc.poll() is not None, 10,
                       "sshd to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"sshd did not start: {self.log[-2000:]}")
        return self

    def ssh(self, key: str = "client_key") -> list[str]:
        """An admin_command: real ssh -W to the admin address, through this sshd, no prompts."""
        return ["ssh", "-F", "/dev/null", "-i", str(self.root / key), "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={self.root / 'known_hosts'}",
                "-o", "StrictHostKeyChecking=yes", "-p", str(self.port), "-W", "{host}:{port}",
                "root@127.0.0.1"]

    def logins(self) -> int:
        return self.log.count("Accepted publickey for root")

    def stop(self) -> None:
        """The listener's group, and the per-connection sshds (each in a session of its own)."""
        if self.proc is None:
            return
        doomed = [self.proc.pid, *descendants(self.proc.pid)]
        for pid in doomed:
            _signal(pid, signal.SIGTERM)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        try:
            local.wait_for(lambda: not any(local.alive(p) for p in doomed), 5, "sshd to be gone")
        except TimeoutError:
            for pid in doomed:
                _signal(pid, signal.SIGKILL)
        self.proc = None


def descendants(pid: int) -> list[int]:
    """Every process below pid, from /proc (sshd's connection children leave its group)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass
