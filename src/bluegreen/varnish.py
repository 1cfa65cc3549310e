"""A client for Varnish's admin CLI (the -T socket), speaking the protocol directly.

Each reply is a 13-byte header "SSS LLLLLLLL\\n" (status, body length), the body, and "\\n".
With -S, the first reply is status 107 and a 32-byte challenge; the answer is
sha256(challenge + "\\n" + secret + challenge + "\\n") in hex.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable

from bluegreen.config import Address
from bluegreen.errors import VarnishAuthError, VarnishError, VclCompileError

COMPILE_TIMEOUT_S = 120.0  # vcl.inline compiles C: seconds on a loaded machine, not milliseconds
CLIS_OK = 200
CLIS_AUTH = 107
STATUS_TEXT = {100: "syntax error", 101: "unknown command", 102: "unimplemented",
               104: "too few arguments", 105: "too many arguments", 106: "bad parameter",
               107: "authentication required", 300: "cannot do that now", 400: "communication error",
               500: "closing"}

Connector = Callable[[tuple[str, int], float], socket.socket]


def quote(text: str) -> str:
    """Quote one CLI argument so Varnish's parser reads it back as the same string."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class Reply:
    __slots__ = ("status", "body")

    def __init__(self, status: int, body: str):
        self.status = status
        self.body = body

    @property
    def ok(self) -> bool:
        return self.status == CLIS_OK

    def describe(self) -> str:
        text = self.body.strip().splitlines()
        first = text[0] if text else STATUS_TEXT.get(self.status, "no message")
        return f"{self.status} {first}"


class VarnishAdmin:
    """One authenticated admin connection to one Varnish instance."""

    def __init__(self, address: Address, secret: bytes, timeout: float = 5.0,
                 connect: Connector = socket.create_connection):
        self.address = address
        self._secret = secret
        self._timeout = timeout
        self._connect = connect
        self._sock: socket.socket | None = None
        self._buf = b""

    # -- connection -----------------------------------------------------------------------------
    def open(self) -> VarnishAdmin:
        try:
            self._sock = self._connect((self.address.host, self.address.port), self._timeout)
            self._sock.settimeout(self._timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            raise VarnishError(f"Varnish admin at {self.address} is not reachable "
                               f"({_reason(exc)}): is varnishd running with -T {self.address}?") from None
        banner = self.recv()
        if banner.status == CLIS_AUTH:
            self._authenticate(banner.body[:32])
        elif not banner.ok:
            raise VarnishError(f"Varnish admin at {self.address} greeted with {banner.describe()}")
        return self

    def _authenticate(self, challenge: str) -> None:
        raw = challenge.encode("ascii") + b"\n"
        digest = hashlib.sha256(raw + self._secret + raw).hexdigest()
        reply = self.call(f"auth {digest}", check=False)
        if not reply.ok:
            raise VarnishAuthError(f"Varnish admin at {self.address} rejected the secret: check "
                                   "secret_file (or BLUEGREEN_SECRET_FILE) is that instance's -S file")

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self) -> VarnishAdmin:
        return self.open() if self._sock is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- protocol -------------------------------------------------------------------------------
    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode("utf-8") + b"\n"
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise VarnishError(f"Varnish admin at {self.address}: sending failed ({_reason(exc)})") from None

    def recv(self) -> Reply:
        header = self._read(13)
        try:
            status, length = int(header[:3]), int(header[4:12])
        except ValueError:
            raise VarnishError(f"Varnish admin at {self.address} answered something that is not "
                               f"the Varnish CLI protocol: {header[:13]!r}") from None
        body = self._read(length + 1)[:-1]
        return Reply(status, body.decode("utf-8", "replace"))

    def call(self, line: str, check: bool = True) -> Reply:
        self.send(line)
        reply = self.recv()
        if check and not reply.ok:
            raise VarnishError(f"Varnish at {self.address} refused '{line.split()[0]}': {reply.describe()}")
        return reply

    def _read(self, count: int) -> bytes:
        while len(self._buf) < count:
            try:
                chunk = self._sock.recv(max(65536, count - len(self._buf)))
            except TimeoutError:
                raise VarnishError(f"Varnish admin at {self.address} did not answer within "
                                   f"{self._sock.gettimeout():g} s") from None
            except OSError as exc:
                raise VarnishError(f"Varnish admin at {self.address}: {_reason(exc)}") from None
            if not chunk:
                raise VarnishError(f"Varnish admin at {self.address} closed the connection")
            self._buf += chunk
        data, self._buf = self._buf[:count], self._buf[count:]
        return data

    # -- commands -------------------------------------------------------------------------------
    def vcl_list(self) -> list[dict]:
        """Every loaded VCL: dicts with name, status (active/available/discarded), state, labels."""
        return [e for e in self._json("vcl.list -j") if isinstance(e, dict)]

    def active_vcl(self) -> str | None:
        for entry in self.vcl_list():
            if entry.get("status") == "active":
                return entry.get("name")
        return None

    def vcl_inline(self, name: str, source: str, state: str = "warm") -> None:
        self._sock.settimeout(max(self._timeout, COMPILE_TIMEOUT_S))
        try:
            reply = self.call(f"vcl.inline {name} {quote(source)} {state}", check=False)
        finally:
            self._sock.settimeout(self._timeout)
        if reply.ok:
            return
        if reply.status == 106 and "VCC-compiler" in reply.body:
            raise VclCompileError(f"Varnish at {self.address} could not compile VCL {name}:\n"
                                  + reply.body.strip())
        raise VarnishError(f"Varnish at {self.address} refused to load VCL {name}: {reply.describe()}")

    def vcl_state(self, name: str, state: str) -> None:
        self.call(f"vcl.state {name} {state}")

    def vcl_use(self, name: str) -> None:
        self.call(f"vcl.use {name}")

    def vcl_discard(self, name: str) -> None:
        self.call(f"vcl.discard {name}")

    def backend_list(self, pattern: str) -> dict[str, dict]:
        """Backends matching pattern ('vcl.*'), each with its probe's view ('healthy'/'sick')."""
        for item in self._json(f"backend.list -j {pattern}"):
            if isinstance(item, dict):
                return item
        return {}

    def _json(self, line: str) -> list:
        body = self.call(line).body
        try:
            return json.loads(body)
        except ValueError:
            raise VarnishError(f"Varnish at {self.address} answered '{line}' with text that is "
                               f"not JSON: {body[:80]!r}") from None


def read_secret(path) -> bytes:
    """The secret file's exact bytes (Varnish hashes them as they are, newline included)."""
    from bluegreen.errors import ConfigError

    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError(f"secret_file: {path} not found: point it (or BLUEGREEN_SECRET_FILE) "
                          "at Varnish's -S file") from None
    except OSError as exc:
        raise ConfigError(f"secret_file: cannot read {path} ({exc.strerror})") from None


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or exc.__class__.__name__
