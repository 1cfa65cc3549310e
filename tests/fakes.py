"""A fake Varnish admin server, for faults a real varnishd cannot show (garbage, silence)."""

from __future__ import annotations

import json
import socket
import threading


class FakeAdmin:
    """Speaks the CLI protocol (any secret passes); answers vcl.list from `loaded`; misbehaves on `on`."""

    def __init__(self, active: str, loaded: list[str], on: str = "vcl.use", mode: str = "garbage",
                 before_answer=None, auth: bool = True, banner: str = "varnish-7.1.1 revision 0"):
        self.active, self.loaded, self.on, self.mode = active, loaded, on, mode
        self.auth, self.banner = auth, banner
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
        elif line.startswith("vcl.use"):
            self.active = line.split()[1]
            self._reply(conn, 200, "")
        else:
            self._reply(conn, 200, "")
