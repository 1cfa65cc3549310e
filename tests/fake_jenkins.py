"""Jenkins' REST API over the harness's archived builds, on loopback (Jenkins cannot run here).

Serves job info, build info and artifacts from ARTIFACTS/<number>/ for the builds the Groovy
harness finished, and demands HTTP basic auth with the configured user and API token.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


class FakeJenkins:
    def __init__(self, artifacts: Path, job: str, user: str, token: str):
        self.artifacts, self.job = artifacts, job
        self.auth = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                if self.headers.get("Authorization") != outer.auth:
                    return self._send(401, b"unauthorized")
                status, body = outer.answer(self.path)
                self._send(status, body)

            def _send(self, status, body: bytes):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> FakeJenkins:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def builds(self) -> list[int]:
        done = [int(p.parent.name) for p in self.artifacts.glob("*/.build.json")]
        return sorted(done, reverse=True)

    def answer(self, path: str) -> tuple[int, bytes]:
        path = path.split("?", 1)[0]
        prefix = "/" + "/".join(f"job/{p}" for p in self.job.split("/")) + "/"
        if not path.startswith(prefix):
            return 404, b"not found"
        rest = path[len(prefix):]
        if rest == "api/json":
            return 200, json.dumps({"builds": [{"number": n} for n in self.builds()]}).encode()
        number, _, tail = rest.partition("/")
        folder = self.artifacts / number
        if not number.isdigit() or not (folder / ".build.json").exists():
            return 404, b"no such build"
        if tail == "api/json":
            files = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*"))
                     if p.is_file() and p.name != ".build.json"]
            result = json.loads((folder / ".build.json").read_text())["result"]
            return 200, json.dumps({"number": int(number), "building": False, "result": result,
                                    "artifacts": [{"relativePath": f} for f in files]}).encode()
        if tail.startswith("artifact/"):
            target = (folder / unquote(tail[len("artifact/"):])).resolve()
            if folder.resolve() in target.parents and target.is_file():
                return 200, target.read_bytes()
        return 404, b"not found"
