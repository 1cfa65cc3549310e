"""What release a server answers, read cheaply: one HTTP/1.0 GET on a plain socket.

`switch` uses it to confirm, right before phase 2, that every server of the target color still
runs the release that passed verify (invariant 2). http.client would cost `switch` ~18 ms of
start-up for the email package it imports; an HTTP/1.0 request needs none of it (no chunking,
the server closes the connection after the answer).
"""

from __future__ import annotations

import json
import socket
import time

from bluegreen.model import Address

MAX_ANSWER = 65536


def parse_release(status: int | None, body: str) -> str | None:
    """The release a version endpoint names: plain text, or JSON {"version": ...}; None if not 2xx."""
    if status is None or not 200 <= status < 300:
        return None
    text = body.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text).get("version")
        except (ValueError, AttributeError):
            return None
        return str(value) if value is not None else None
    return text.splitlines()[0].strip() if text else None


def running_release(server: Address, path: str, timeout: float,
                    host: str | None = None) -> tuple[str | None, str]:
    """(the release server answers on path, or None; what was seen, for a message)."""
    request = (f"GET {path} HTTP/1.0\r\nHost: {host or server}\r\nUser-Agent: bluegreen\r\n"
               "Accept: */*\r\n\r\n").encode("ascii")
    end = time.monotonic() + timeout  # one deadline for the whole answer, not each read
    try:
        with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
            sock.sendall(request)
            data = b""
            while len(data) < MAX_ANSWER:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(MAX_ANSWER)
                if not chunk:
                    break
                data += chunk
    except TimeoutError:
        return None, f"no answer within {timeout:g} s"
    except OSError as exc:
        return None, exc.strerror or exc.__class__.__name__
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    release = parse_release(status, body.decode("utf-8", "replace"))
    return release, release if release is not None else f"HTTP {status}" if status else "no HTTP answer"
