"""A client for Varnish's admin CLI (the -T socket), speaking the protocol directly.

Each reply is a 13-byte header "SSS LLLLLLLL\\n" (status, body length), the body, and "\\n".
With -S, the first reply is status 107 and a 32-byte challenge; the answer is
sha256(challenge + "\\n" + secret + challenge + "\\n") in hex.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from collections.abc import Callable

from bluegreen.errors import BluegreenError, VarnishAuthError, VarnishError, VclCompileError
from bluegreen.model import Address

COMPILE_TIMEOUT_S = 120.0  # vcl.inline compiles C: seconds on a loaded machine, not milliseconds
CLIS_OK = 200
CLIS_TRUNCATED = 201
CLIS_PARAM = 106
CLIS_AUTH = 107
OLDEST = (6, 0, 2)  # vcl.list -j first appeared in 6.0.2
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,199}")
VCL_LIST = "vcl.list -j"
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
        self.version: tuple[int, ...] | None = None

    # -- connection -----------------------------------------------------------------------------
    def open(self) -> VarnishAdmin:
        try:
            self._sock = self._connect((self.address.host, self.address.port), self._timeout)
            self._sock.settimeout(self._timeout)
            if self._sock.family in (socket.AF_INET, socket.AF_INET6):  # not through admin_command
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            self.close()
            raise VarnishError(f"Varnish admin at {self.address} is not reachable "
                               f"({_reason(exc)}): is varnishd running with -T {self.address}?") from None
        try:
            banner = self.recv()
            if banner.status != CLIS_AUTH:
                raise VarnishError(
                    f"Varnish admin at {self.address} greeted with {banner.describe()} without asking "
                    "for authentication: it is not a varnishd started with -S, so the secret is not in "
                    "use; refusing to drive it (start varnishd with -S SECRETFILE)")
            self._authenticate(banner.body[:32])
        except BluegreenError:
            self.close()
            raise
        return self

    def _authenticate(self, challenge: str) -> None:
        raw = challenge.encode("ascii", "replace") + b"\n"
        digest = hashlib.sha256(raw + self._secret + raw).hexdigest()
        reply = self.call(f"auth {digest}", check=False)
        if not reply.ok:
            raise VarnishAuthError(f"Varnish admin at {self.address} rejected the secret: check "
                                   "secret_file (or BLUEGREEN_SECRET_FILE) is that instance's -S file")
        self.version = _version(reply.body)
        if self.version is not None and self.version < OLDEST:
            found = ".".join(map(str, self.version))
            raise VarnishError(f"Varnish at {self.address} is {found}; bluegreen needs Varnish 6.0.2 "
                               "or newer (vcl.list -j): upgrade it (6.0 LTS: the latest 6.0.x)")

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
            raise VarnishError(f"Varnish admin at {self.address}: sending failed ({_reason(exc)})"
                               + _lost(self._sock)) from None

    def recv(self, timeout: float | None = None) -> Reply:
        """One reply, within one deadline for all of it (not per recv: a trickle cannot stall us)."""
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        header = self._read(13, deadline)
        try:
            if header[3:4] != b" " or header[12:13] != b"\n":
                raise ValueError
            status, length = int(header[:3]), int(header[4:12])
        except ValueError:
            raise VarnishError(f"Varnish admin at {self.address} answered something that is not "
                               f"the Varnish CLI protocol: {header[:13]!r}") from None
        if not 100 <= status <= 999 or length < 0:
            raise VarnishError(f"Varnish admin at {self.address} answered something that is not "
                               f"the Varnish CLI protocol: {header[:13]!r}")
        body = self._read(length + 1, deadline)[:-1]
        return Reply(status, body.decode("utf-8", "replace"))

    def call(self, line: str, check: bool = True, timeout: float | None = None) -> Reply:
        self.send(line)
        reply = self.recv(timeout)
        if check:
            self.check(reply, line)
        return reply

    def check(self, reply: Reply, line: str) -> Reply:
        command = line.split()[0] if line.split() else line
        if reply.status == CLIS_TRUNCATED:
            raise VarnishError(f"Varnish at {self.address} cut its answer to '{command}' at cli_limit: "
                               "raise it (varnishadm param.set cli_limit 1M, or -p cli_limit=1M)")
        if not reply.ok:
            raise VarnishError(f"Varnish at {self.address} refused '{command}': {reply.describe()}")
        return reply

    def _read(self, count: int, deadline: float) -> bytes:
        while len(self._buf) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._late(deadline)
            try:
                self._sock.settimeout(left)
                chunk = self._sock.recv(max(65536, count - len(self._buf)))
            except TimeoutError:
                raise self._late(deadline) from None
            except OSError as exc:
                raise VarnishError(f"Varnish admin at {self.address}: {_reason(exc)}"
                                   + _lost(self._sock)) from None
            if not chunk:
                raise VarnishError(f"Varnish admin at {self.address} closed the connection"
                                   + _lost(self._sock))
            self._buf += chunk
        data, self._buf = self._buf[:count], self._buf[count:]
        return data

    def _late(self, deadline: float) -> VarnishError:
        return VarnishError(f"Varnish admin at {self.address} did not answer within "
                            f"{self._timeout:g} s")

    # -- commands -------------------------------------------------------------------------------
    def vcl_list(self) -> list[dict]:
        """Every loaded VCL: dicts with name, status (active/available/discarded), state,
        temperature, and for a label its target (`label.name`); discarded ones included."""
        return self.vcl_entries(self.call(VCL_LIST))

    def vcl_entries(self, reply: Reply) -> list[dict]:
        """The entries of a `vcl.list -j` reply (one the fleet asked for with every other)."""
        return [e for e in _parse_json(reply.body, self.address, VCL_LIST)
                if isinstance(e, dict) and isinstance(e.get("name"), str)]

    def active_vcl(self) -> str | None:
        for entry in self.vcl_list():
            if entry.get("status") == "active":
                return entry.get("name")
        return None

    def send_inline(self, name: str, source: str, state: str = "warm") -> None:
        """Send a vcl.inline without reading its reply (the fleet loads every instance at once)."""
        self.send(f"vcl.inline {named(name)} {quote(source)} {state}")

    def inline_reply(self, name: str, timeout: float = COMPILE_TIMEOUT_S) -> None:
        reply = self.recv(max(self._timeout, timeout))
        if reply.ok:
            return
        if reply.status == CLIS_PARAM and "VCC-compiler" in reply.body:
            raise VclCompileError(f"Varnish at {self.address} could not compile VCL {name}:\n"
                                  + reply.body.strip())
        raise VarnishError(f"Varnish at {self.address} refused to load VCL {name}: {reply.describe()}")

    def vcl_inline(self, name: str, source: str, state: str = "warm",
                   timeout: float = COMPILE_TIMEOUT_S) -> None:
        self.send_inline(name, source, state)
        self.inline_reply(name, timeout)

    def vcl_state(self, name: str, state: str) -> None:
        self.call(f"vcl.state {named(name)} {state}")

    def vcl_use(self, name: str) -> None:
        self.call(f"vcl.use {named(name)}")

    def vcl_label(self, label: str, name: str) -> None:
        self.call(f"vcl.label {named(label)} {named(name)}")

    def ban(self, expression: str) -> None:
        self.call(f"ban {expression}")

    def vcl_discard(self, name: str) -> None:
        self.call(f"vcl.discard {named(name)}")

    def vcl_show(self, name: str) -> str:
        return self.call(f"vcl.show {named(name)}").body

    def backend_list(self, pattern: str) -> dict[str, str]:
        """{backend: 'healthy'|'sick'|...} for backends matching pattern ('vcl.*').

        `backend.list -j` where Varnish has it; plain `backend.list` where it answers "invalid
        flags" (Varnish 6.0 never implemented -j for it)."""
        line = backends_line(pattern)
        found = self.backends(self.call(line, check=False), line)
        if found is None:
            found = self.backends(self.call(backends_line(pattern, plain=True)), "")
        return found

    def backends(self, reply: Reply, line: str) -> dict[str, str] | None:
        """The backends of a `backend.list` reply (plain when `line` is ""); None when a
        `backend.list -j` was refused as a flag this Varnish does not know (6.0)."""
        if not line:
            return _plain_backends(self.check(reply, "backend.list").body)
        if reply.status in (CLIS_PARAM, 100, 101, 102):
            return None
        self.check(reply, line)
        for item in _parse_json(reply.body, self.address, line):
            if isinstance(item, dict):
                return {name: _health(info) for name, info in item.items()}
        return {}


def backends_line(pattern: str, plain: bool = False) -> str:
    return f"backend.list {pattern}" if plain else f"backend.list -j {pattern}"


def named(name: str) -> str:
    """A VCL or label name as the CLI takes it: never quoted (Varnish 7.0 to 7.4 refuse two
    adjacent quoted arguments), so only names that need no quoting are ever sent."""
    if not NAME_RE.fullmatch(name or ""):
        raise VarnishError(f"refusing to send the VCL name {name!r} to Varnish: a name holds only "
                           "letters, digits, '-' and '_'")
    return name


def _parse_json(body: str, address, line: str) -> list:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise VarnishError(f"Varnish at {address} answered '{line}' with text that is "
                           f"not JSON: {body[:80]!r}") from None
    if not isinstance(data, list):
        raise VarnishError(f"Varnish at {address} answered '{line}' with JSON that is not a list")
    return data


def _health(info) -> str:
    """A backend's health from backend.list -j: admin override first, then the probe's verdict
    (a list [good, window, "healthy"] since 6.2; a string "2/3 healthy" in 6.1)."""
    if not isinstance(info, dict):
        return "unknown"
    if info.get("admin_health") in ("sick", "healthy"):
        return info["admin_health"]
    msg = info.get("probe_message")
    if isinstance(msg, list) and msg:
        return str(msg[-1])
    if isinstance(msg, str) and msg.split():
        return msg.split()[-1].lower()
    return "unknown"


def _plain_backends(body: str) -> dict[str, str]:
    """Plain backend.list (Varnish 6.0): 'name admin probe-or-health ...' lines after a header."""
    found = {}
    for line in body.splitlines()[1:]:
        words = line.split()
        if not words or line.startswith(" "):
            continue
        rest = " ".join(words[1:]).lower()
        admin = words[1].lower() if len(words) > 1 else ""
        if admin in ("sick", "healthy"):
            found[words[0]] = admin
        elif "sick" in rest:
            found[words[0]] = "sick"
        elif "healthy" in rest:
            found[words[0]] = "healthy"
        else:
            found[words[0]] = "unknown"
    return found


def _version(banner: str) -> tuple[int, ...] | None:
    m = re.search(r"varnish-(?:plus-)?(\d{1,6})\.(\d{1,6})\.(\d{1,6})\b", banner)
    return tuple(int(g) for g in m.groups()) if m else None


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


def _lost(sock) -> str:
    """What the carrier of a connection said when it went (a tunnel's stderr; nothing for TCP)."""
    said = getattr(sock, "last_words", None)
    return f" ({said()})" if callable(said) and said() else ""


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or exc.__class__.__name__
