"""A fake Varnish admin server, for faults a real varnishd cannot show (garbage, silence)."""

from __future__ import annotations

import fnmatch
import json
import socket
import threading


class FakeAdmin:
    """Speaks the CLI protocol (any secret passes); answers vcl.list from `loaded`; misbehaves on `on`."""

    def __init__(self, active: str, loaded: list[str], on: str = "vcl.use", mode: str = "garbage",
                 before_answer=None, auth: bool = True, banner: str = "varnish-7.1.1 revision 0",
                 backends: dict[str, str] | None = None):
        self.active, self.loaded, self.on, self.mode = active, loaded, on, mode
        self.auth, self.banner = auth, banner
        self.backends = backends or {}  # {"vcl.blue_x": "healthy"|"sick"}, answered as the banner's version
        self.before_answer = before_answer or (lambda: None)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.commands: list[str] = []
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self.sock.close()
        for c in self._conns:
            c.close()
        self._thread.join(5)

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
        if line.startswith("auth "):
            return self._reply(conn, 200, f"-----\nVarnish Cache CLI 1.0\n-----\n{self.banner}\n")
        if line.startswith(self.on):
            self.before_answer()
            if self.mode == "garbage":
                conn.sendall(b"HELLO, I AM NOT VARNISH\n")
            elif self.mode == "refuse":
                self._reply(conn, 106, "No VCL named that")
            return  # "silent": never answer
        if line.startswith("vcl.list"):
            entries = [{"status": "active" if n == self.active else "available", "state": "auto",
                        "temperature": "warm", "busy": 0, "name": n} for n in self.loaded]
            self._reply(conn, 200, json.dumps([2, ["vcl.list", "-j"], 0, *entries]))
        elif line.startswith("backend.list"):
            self._backend_list(conn, line.split()[1:])
        elif line.startswith("vcl.use"):
            self.active = line.split()[1]
            self._reply(conn, 200, "")
        else:
            self._reply(conn, 200, "")

    def _backend_list(self, conn, args: list[str]):
        """backend.list as Varnish 6.0 (no -j: 106), 6.1 (probe_message a string) or 7 answers it."""
        pattern = next((a for a in args if not a.startswith("-")), "*")
        found = {n: h for n, h in self.backends.items() if fnmatch.fnmatchcase(n, pattern)}
        if "-j" in args:
            if "varnish-6.0." in self.banner:
                return self._reply(conn, 106, "Invalid flag j")
            as_61 = "varnish-6.1." in self.banner
            body = {n: {"type": "backend", "admin_health": "probe",
                        "probe_message": f"3/3 {h}" if as_61 else [3, 3, h]} for n, h in found.items()}
            return self._reply(conn, 200, json.dumps([3, ["backend.list", "-j"], 0, body]))
        rows = ["Backend name                   Admin      Probe                Last updated"]
        rows += [f"{n:<30} probe      {h.capitalize()} 3/3          Sun, 29 Nov 2026 10:00:00 GMT"
                 for n, h in found.items()]
        self._reply(conn, 200, "\n".join(rows))
