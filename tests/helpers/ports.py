"""Loopback ports for the tests' servers, each handed to one server at a time on this machine.

`bluegreen.demo.ports.free_port()` binds port 0 and closes it again: until a server binds that
port, the kernel may hand it to anyone else. With xdist workers starting varnishd and sample apps
side by side, another worker's varnishd took a sample app's port (its /health then answered 503)
or the app never came up (Connection refused). So a port here is taken from below the kernel's
ephemeral range, where neither bind(0) nor an outgoing connection is ever given one, and claimed
with a lock file under /tmp that every worker and every concurrent test run respects. A process
holds its last KEPT claims and releases older ones (a test never holds that many at once).
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from collections import deque
from pathlib import Path

from bluegreen.demo import local
from bluegreen.model import Address

LOCKS = Path(tempfile.gettempdir()) / "bluegreen-test-ports"
LOWEST = 20000
KEPT = 512
_claims: deque[int] = deque()  # open lock files, oldest first
_random = random.Random()  # its own: a test may seed the module's (hypothesis does)


def free_port() -> int:
    """A loopback port nothing listens on, claimed for this process until KEPT more are taken."""
    low, high = _range()
    LOCKS.mkdir(mode=0o1777, exist_ok=True)
    for _ in range(1000):
        port = _random.randint(low, high)
        fd = os.open(LOCKS / str(port), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a second claim, even our own, fails
        except BlockingIOError:
            os.close(fd)
            continue
        if not _bindable(port):  # something outside the tests listens there
            os.close(fd)
            continue
        _claims.append(fd)
        while len(_claims) > KEPT:
            os.close(_claims.popleft())
        return port
    raise RuntimeError(f"no free port between {low} and {high} after 1000 tries (see {LOCKS})")


def address() -> Address:
    return Address("127.0.0.1", free_port())


def varnish(root: Path, secret: Path, name: str, listeners: tuple[str, ...] = ()) -> local.LocalVarnish:
    """A started LocalVarnish whose ports (HTTP, admin, named listeners) come from free_port()."""
    v = local.LocalVarnish(root, secret, name=name, listeners=listeners)
    v.http, v.admin = address(), address()
    v.listeners = {n: address() for n in listeners}
    return v.start()


def _range() -> tuple[int, int]:
    """The ports below the ephemeral range (net.ipv4.ip_local_port_range; 32768 by default)."""
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768
    if first - LOWEST < 4096:
        raise RuntimeError(f"the ephemeral ports start at {first}: the tests need 4096 ports below it "
                           f"from {LOWEST} (sysctl net.ipv4.ip_local_port_range)")
    return LOWEST, first - 1


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind it
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
