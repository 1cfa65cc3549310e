"""A fake app server and a fake deploy command, for the unit tests of the steps.

`FakeApp` is a tiny HTTP server on a loopback thread answering GET /health and GET /version with
the release written in its file (`releases/HOST_PORT`); no file: 503, not deployed. A release
ending in "-broken" fails /health with 500, as the sample app does. The deploy command
(fake_deploy.py, the `DEPLOY` argv) writes that file, so `deploy` changes what the server answers
without starting anything; each run is appended to `releases/deploy.log`.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bluegreen.model import Address

SCRIPT = Path(__file__).resolve().parent / "fake_deploy.py"


def deploy_argv(releases: Path) -> list[str]:
    """deploy.command (and retire.command) of a stage served by FakeApps writing into `releases`."""
    return [sys.executable, "-I", "-S", str(SCRIPT), str(releases), "{host}", "{port}", "{version}",
            "{color}"]


def deployed(releases: Path) -> list[str]:
    """'HOST:PORT RELEASE' for every run of the deploy command, in order."""
    log = releases / "deploy.log"
    return log.read_text().splitlines() if log.exists() else []


class FakeApp:
    """One app server: its release is the file releases/HOST_PORT (settable as `release`)."""

    def __init__(self, releases: Path):
        self.releases = Path(releases)
        self.releases.mkdir(parents=True, exist_ok=True)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = Address("127.0.0.1", self.server.server_address[1])
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def file(self) -> Path:
        return self.releases / f"{self.address.host}_{self.address.port}"

    @property
    def release(self) -> str | None:
        return self.file.read_text().strip() if self.file.exists() else None

    @release.setter
    def release(self, value: str | None) -> None:
        if value is None:
            self.file.unlink(missing_ok=True)
        else:
            self.file.write_text(value + "\n")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def answer(self, path: str) -> tuple[int, str]:
        release = self.release
        if release is None:
            return 503, "not deployed\n"
        if path.split("?")[0] == "/health":
            return (500, "broken\n") if release.endswith("-broken") else (200, "ok\n")
        if path.split("?")[0] == "/version":
            return 200, release + "\n"
        return 404, "not found\n"

    def _handler(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                app.requests.append(self.path)
                status, body = app.answer(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
