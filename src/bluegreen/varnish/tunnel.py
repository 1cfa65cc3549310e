"""The admin connection through a command (`admin_command`, e.g. `ssh -W {host}:{port} HOST`).

As with ssh's ProxyCommand, the command's stdin and stdout are one end of a socket pair and
VarnishAdmin speaks the admin protocol on the other end, unchanged: the -S secret still
authenticates end to end and never reaches the command (not in its argv, not in its environment,
which is scrubbed as for every command). The command runs in its own process group
(commands.Running). The connection counts as open once Varnish's first bytes (its greeting) came
through; closing it closes the command's input, gives it a moment to end, then ends its group.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

from bluegreen import commands
from bluegreen.config.values import show
from bluegreen.errors import VarnishError
from bluegreen.model import Address

END_GRACE_S = 1.0  # ssh -W ends on its own within milliseconds once its input is closed
STDERR_TAIL = 8192


def connector(argv: tuple[str, ...], key: str, cwd: Path | None = None):
    """A Connector for VarnishAdmin: each connection starts its own copy of `argv`."""
    return lambda address, timeout: open_piped(argv, key, cwd, Address(*address), timeout)


def open_piped(argv: tuple[str, ...], key: str, cwd: Path | None, address: Address,
               timeout: float) -> Piped:
    import tempfile

    filled = commands.fill(argv, {"host": address.host, "port": str(address.port)})
    ours, theirs = socket.socketpair()
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (Piped owns it; its close() closes it)
    try:
        running = commands.Running(filled, cwd, stdin=theirs, stdout=theirs, stderr=errors)
    finally:
        theirs.close()
    piped = Piped(ours, running, errors)
    if running.problem:
        piped.close()
        raise VarnishError(f"Varnish admin at {address}: {key} could not start ({running.problem}): "
                           f"install that program or correct {key}")
    try:
        piped.await_greeting(timeout, f"Varnish admin at {address}: {key} ({_shown(filled)})")
    except KeyboardInterrupt:
        piped.close()
        raise
    return piped


class Piped:
    """Our end of the socket pair, standing in for a TCP socket; `close` also ends the command."""

    def __init__(self, sock: socket.socket, running: commands.Running, errors):
        self._sock, self._running, self._errors = sock, running, errors

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def await_greeting(self, timeout: float, where: str) -> None:
        """Wait until Varnish's first bytes came through (left unread for VarnishAdmin)."""
        try:
            self._sock.settimeout(timeout)
            if self._sock.recv(1, socket.MSG_PEEK):
                return
            problem = None
        except TimeoutError:
            problem = f"nothing came through within {timeout:g} s"
        except OSError as exc:
            problem = exc.strerror or exc.__class__.__name__
        self._end()
        message = self._failure(where, problem)
        self._errors.close()
        raise VarnishError(message)

    def _failure(self, where: str, problem: str | None) -> str:
        code = self._running.exited()
        if problem is None:
            said = self._stderr_tail() or "no output on stderr"
            return (f"{where} ended (exit {code}: {said}) before Varnish greeted: run that command "
                    "by hand as this user; for ssh check that the host key is in known_hosts, the "
                    "key is authorized, BatchMode=yes is set, and varnishd's -T listens on the "
                    "address it forwards to")
        return (f"{where}: {problem}, Varnish never greeted (the command was ended): does it reach "
                "varnishd's -T address, or does it wait for a password or a host key prompt?")

    def last_words(self) -> str:
        """When the connection went: what the command wrote to stderr, and how it ended."""
        said, code = self._stderr_tail(), self._running.exited()
        if not said and code is None:
            return ""
        ended = "still running" if code is None else f"exit {code}"
        return f"the admin_command {ended}: {said or 'no output on stderr'}"

    def _stderr_tail(self) -> str:
        """The last two lines the command wrote to stderr, as one printable line."""
        try:
            self._errors.seek(0, 2)
            size = self._errors.tell()
            self._errors.seek(max(0, size - STDERR_TAIL))
            text = self._errors.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return show(" / ".join(lines[-2:]), 300)

    def close(self) -> None:
        try:
            self._end()
        finally:
            self._errors.close()

    def _end(self) -> None:
        try:
            self._sock.close()
        finally:
            self._running.stop(END_GRACE_S)


def _shown(argv: list[str], limit: int = 240) -> str:
    """The command as one printable line; a long one keeps its end (where ssh names the host)."""
    text = show(shlex.join(argv), 100_000)
    return text if len(text) <= limit else text[:100] + " ... " + text[-(limit - 105):]
