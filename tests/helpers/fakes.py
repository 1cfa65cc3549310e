"""FakeAdmin: a varnishd's admin port in memory, behind a real socket on loopback.

It speaks the CLI protocol (any secret passes) and keeps what a varnishd keeps: the VCLs loaded
(their source, status, state, temperature), the labels and what they point to, the active VCL,
the bans, and each VCL's backends (read from its source) with a health from `health`. The unit
tests run real steps against it. It also shows what a real varnishd cannot: a reply of garbage,
a refusal or silence for one command (`on`, `mode`), no request for a secret, an older version.
"""

from __future__ import annotations

import fnmatch
import json
import re
import socket
import threading
import time

from bluegreen.model import Address

CHANGES = ("vcl.inline", "vcl.use", "vcl.label", "vcl.state", "vcl.discard", "ban")
BOOT = "vcl 4.1;\nbackend default none;\n"
BACKEND_RE = re.compile(r'^backend\s+(\w+)\s*\{[^}]*?\.host\s*=\s*"([^"]*)";[^}]*?\.port\s*=\s*"(\d+)"',
                        re.M | re.S)
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class Vcl:
    """One entry of vcl.list: a VCL program, or a label (`label` names the VCL it points to)."""

    def __init__(self, name: str, source: str | None = None, state: str = "auto", label: str | None = None):
        self.name, self.source, self.state, self.label = name, source, state, label
        self.temperature = "cold" if state == "cold" else "warm"

    def backends(self) -> dict[str, str]:
        """{backend name: "host:port"} of every backend the source declares."""
        return {name: f"{host}:{port}" for name, host, port in BACKEND_RE.findall(self.source or "")}


class FakeAdmin:
    """An in-memory varnishd on a loopback admin port: `loaded` VCLs, `active` the one in use.

    `on` (a command prefix) misbehaves as `mode` says: "garbage" (not the CLI protocol),
    "refuse" (status 106) or "silent" (no answer), after calling `before_answer`. `health` maps a
    backend's name or its "host:port" to "healthy" or "sick" (default healthy); `backends` adds
    fixed entries by full name ("vcl.backend"), as older tests gave them."""

    def __init__(self, active: str = "boot", loaded: list[str] | None = None, on: str | None = None,
                 mode: str = "garbage", before_answer=None, auth: bool = True,
                 banner: str = "varnish-7.1.1 revision 0", backends: dict[str, str] | None = None,
                 health: dict[str, str] | None = None):
        self.vcls: dict[str, Vcl] = {n: Vcl(n, BOOT if n == "boot" else None)
                                     for n in (loaded if loaded is not None else [active])}
        self.active = active
        self.on, self.mode, self.auth, self.banner = on, mode, auth, banner
        self.backends = backends or {}
        self.health = health or {}
        self.bans: list[str] = []
        self.before_answer = before_answer or (lambda: None)
        self.commands: list[str] = []
        self._lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.port)

    @property
    def loaded(self) -> list[str]:
        return list(self.vcls)

    def changes(self) -> list[str]:
        """The commands received that change something live or loaded (vcl.use, ban ...)."""
        return self.changes_of(self.commands)

    @staticmethod
    def changes_of(commands: list[str]) -> list[str]:
        return [c for c in commands if c.split(" ", 1)[0] in CHANGES]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
        except OSError:
            pass
        self.sock.close()
        for c in self._conns:
            c.close()
        self._thread.join(5)

    def __enter__(self) -> FakeAdmin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the protocol ------------------------------------------------------------------------------
    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _reply(conn, status: int, body: str):
        data = body.encode()
        conn.sendall(f"{status:03d} {len(data):<8d}\n".encode() + data + b"\n")

    def _session(self, conn):
        if self.auth:
            self._reply(conn, 107, "a" * 32 + "\n\nAuthentication required.\n")
        else:
            self._reply(conn, 200, "fake varnish that asks for no secret")
        buf = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._handle(conn, line.decode())
        except OSError:
            return

    def _handle(self, conn, line: str):
        self.commands.append(line)
        if self.on and line.startswith(self.on):
            self.before_answer()
            if self.mode == "garbage":
                conn.sendall(b"HELLO, I AM NOT VARNISH\n")
            elif self.mode == "refuse":
                self._reply(conn, 106, "No VCL named that")
            return  # "silent": never answer
        with self._lock:
            status, body = self._answer(line)
        self._reply(conn, status, body)

    def _answer(self, line: str) -> tuple[int, str]:
        words = split(line)
        command, args = (words[0], words[1:]) if words else ("", [])
        if command == "auth":
            return 200, f"-----\nVarnish Cache CLI 1.0\n-----\n{self.banner}\n"
        handler = getattr(self, "_" + command.replace(".", "_"), None)
        if handler is None:
            return 101, "Unknown request.\nType 'help' for more info."
        return handler(args)

    # -- commands ----------------------------------------------------------------------------------
    def _ping(self, args):
        return 200, f"PONG {int(time.time())} 1.0"

    def _status(self, args):
        return 200, "Child in state running"

    def _vcl_list(self, args):
        if "-j" not in args:
            return 200, "\n".join(f"{e['status']:<10} {e['state']:<6}/{e['temperature']:<6} 0 {e['name']}"
                                  for e in self.entries())
        return 200, json.dumps([2, ["vcl.list", "-j"], time.time(), *self.entries()])

    def entries(self) -> list[dict]:
        """What `vcl.list -j` lists, in load order."""
        out = []
        for vcl in self.vcls.values():
            entry = {"status": "active" if vcl.name == self.active else "available",
                     "state": "label" if vcl.label else vcl.state, "temperature": vcl.temperature,
                     "busy": 0, "name": vcl.name}
            if vcl.label:
                entry["label"] = {"name": vcl.label}
            labels = sum(1 for v in self.vcls.values() if v.label == vcl.name)
            if labels:
                entry["labels"] = labels
            out.append(entry)
        return out

    def _vcl_inline(self, args):
        if len(args) < 2:
            return 104, "Too few parameters"
        name, source, state = args[0], args[1], (args[2] if len(args) > 2 else "auto")
        if name in self.vcls:
            return 106, f"Already a VCL named {name}"
        self.vcls[name] = Vcl(name, source, state)
        return 200, ""

    def _vcl_use(self, args):
        vcl = self.vcls.get(args[0]) if args else None
        if vcl is None or vcl.label:
            return 106, f"No VCL named {args[0] if args else ''} known"
        if vcl.state == "cold":
            return 300, f"VCL '{vcl.name}' is cold - set to auto or warm first"
        self.active, vcl.temperature = vcl.name, "warm"
        return 200, ""

    def _vcl_label(self, args):
        label, target = (args + [None, None])[:2]
        vcl = self.vcls.get(target)
        if vcl is None or vcl.label:
            return 106, f"No VCL named {target} known"
        if label in self.vcls and not self.vcls[label].label:
            return 106, f"{label} is not a label"
        self.vcls.setdefault(label, Vcl(label)).label = target
        vcl.temperature = "warm"
        return 200, ""

    def _vcl_state(self, args):
        vcl = self.vcls.get(args[0]) if args else None
        if vcl is None:
            return 106, f"No VCL named {args[0] if args else ''} known"
        if vcl.label:
            return 106, "Labels are always warm"
        if args[1:2] == ["cold"] and vcl.name == self.active:
            return 300, "Cannot set the active VCL cold."
        vcl.state = args[1]
        vcl.temperature = {"warm": "warm", "cold": "cold"}.get(vcl.state, vcl.temperature)
        return 200, ""

    def _vcl_discard(self, args):
        vcl = self.vcls.get(args[0]) if args else None
        if vcl is None:
            return 106, f"No VCL named {args[0] if args else ''} known"
        if vcl.name == self.active:
            return 300, f"Cannot discard active VCL program {vcl.name}"
        labels = [v.name for v in self.vcls.values() if v.label == vcl.name]
        if labels:
            return 300, f"Cannot discard labeled VCL program {vcl.name}:\n\t" + "\n\t".join(labels)
        del self.vcls[vcl.name]
        return 200, ""

    def _vcl_show(self, args):
        vcl = self.vcls.get(args[-1]) if args else None
        if vcl is None:
            return 106, f"No VCL named {args[-1] if args else ''} known"
        return 200, vcl.source or BOOT

    def _ban(self, args):
        self.bans.append(" ".join(args))
        return 200, ""

    def _backend_list(self, args):
        """backend.list as Varnish 6.0 (no -j: 106), 6.1 (probe_message a string) or 7 answers it."""
        pattern = next((a for a in args if not a.startswith("-")), None)
        found = self._backends(pattern)
        if "-j" in args:
            if "varnish-6.0." in self.banner:
                return 106, "Invalid flag j"
            as_61 = "varnish-6.1." in self.banner
            body = {n: {"type": "backend", "admin_health": "probe",
                        "probe_message": f"3/3 {h}" if as_61 else [3, 3, h]} for n, h in found.items()}
            return 200, json.dumps([3, ["backend.list", "-j"], time.time(), body])
        rows = ["Backend name                   Admin      Probe                Last updated"]
        rows += [f"{n:<30} probe      {h.capitalize()} 3/3          Sun, 29 Nov 2026 10:00:00 GMT"
                 for n, h in found.items()]
        return 200, "\n".join(rows)

    def _backends(self, pattern: str | None) -> dict[str, str]:
        """{vcl.backend: health} matching the pattern (the active VCL's when there is none)."""
        pattern = pattern or f"{self.active}.*"
        found = {}
        for vcl in self.vcls.values():
            for name, server in vcl.backends().items():
                full = f"{vcl.name}.{name}"
                if fnmatch.fnmatchcase(full, pattern):
                    found[full] = self.health.get(name, self.health.get(server, "healthy"))
        found.update({n: h for n, h in self.backends.items() if fnmatch.fnmatchcase(n, pattern)})
        return found


def split(line: str) -> list[str]:
    """The arguments of a CLI line as Varnish reads them: words, or "quoted" with \\ escapes."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
        elif line[i] == '"':
            word, i = [], i + 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line):
                    nxt = line[i + 1]
                    if nxt in "01234567":
                        word.append(chr(int(line[i + 1:i + 4], 8)))
                        i += 4
                        continue
                    word.append(ESCAPES.get(nxt, nxt))
                    i += 2
                    continue
                word.append(line[i])
                i += 1
            words.append("".join(word))
            i += 1
        else:
            end = line.find(" ", i)
            end = len(line) if end < 0 else end
            words.append(line[i:end])
            i = end
    return words
