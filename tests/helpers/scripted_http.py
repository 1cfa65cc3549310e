"""`ScriptedHTTP`: a loopback HTTP server that answers exactly the bytes a test gives it, at the
pace it gives: what a real server cannot do on cue (a Prometheus answering garbage, a page that
trickles one byte at a time). It keeps the head of every request it was sent.

    with ScriptedHTTP(answer(200, b'{"status": "success"}')) as server:
        http.get_url(server.url + "/api/v1/query", 2)
        server.requests[0]["authorization"]
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable

from bluegreen.model import Address


def answer(status: int, body: bytes | str, content_type: str = "application/json",
           length: int | None = None, headers: dict | None = None) -> bytes:
    """A whole HTTP/1.1 answer; `length` overrides the Content-Length it announces."""
    data = body.encode() if isinstance(body, str) else body
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{extra}"
            f"Content-Length: {len(data) if length is None else length}\r\nConnection: close\r\n\r\n")
    return head.encode() + data


def preview_front(head: dict) -> bytes:
    """A Varnish front as compare sees it: every color answers the same page, naming itself."""
    color = head.get("x-bluegreen-color", "")
    return answer(200, '{"id": 1}', headers={"X-Bluegreen-Color": color})


def prometheus(data, status: str = "success") -> bytes:
    """Prometheus' API answer carrying `data` (any JSON value)."""
    return answer(200, json.dumps({"status": status, "data": data}))


def vector(*values: str) -> bytes:
    """An instant vector of one series per value (Prometheus writes values as strings)."""
    series = [{"metric": {"n": str(n)}, "value": [1.0, v]} for n, v in enumerate(values)]
    return prometheus({"resultType": "vector", "result": series})


class ScriptedHTTP:
    """Answers every connection with `payload` (bytes, or a function of the request's head);
    with `pace`, one byte every `pace` seconds."""

    def __init__(self, payload: bytes | Callable[[dict], bytes] = b"", pace: float = 0.0):
        self.payload, self.pace = payload, pace
        self.requests: list[dict] = []  # {"line": "GET / HTTP/1.1", header (lower-cased): value}
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.address = Address("127.0.0.1", self._sock.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self) -> ScriptedHTTP:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):  # wakes the accepting thread at once
            self._sock.shutdown(socket.SHUT_RDWR)
        self._accepting.join(5)
        self._sock.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                head = _head(conn)
                self.requests.append(head)
                payload = self.payload(head) if callable(self.payload) else self.payload
                if not self.pace:
                    conn.sendall(payload)
                    conn.shutdown(socket.SHUT_WR)
                    return
                for n in range(len(payload)):
                    conn.sendall(payload[n:n + 1])
                    if self._stop.wait(self.pace):
                        return
            except OSError:  # the client gave up (its deadline): that is the point
                return


def _head(conn: socket.socket) -> dict:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    head = {"line": lines[0]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        head[name.strip().lower()] = value.strip()
    return head
