"""For tests, the demo's neighbours and bench/watch.py: a local Prometheus scraping the sample
app, and steady traffic through Varnish that remembers what every response was."""

from __future__ import annotations

import base64
import http.client as http_client
import json
import shutil
import subprocess
import threading
import time
import warnings
from pathlib import Path

from bluegreen.checks import http
from bluegreen.demo.local import stop_group, wait_for
from bluegreen.errors import DependencyError
from bluegreen.model import Address
from tests.helpers import ports


class LocalPrometheus:
    """Debian's prometheus with its own data dir, a 1 s scrape of the given servers, on loopback."""

    def __init__(self, root: Path, targets: list, scrape_s: float = 1.0,
                 user: tuple[str, str] | None = None):
        """`user`: (name, password) that every request to its API must then present (basic auth)."""
        if not shutil.which("prometheus"):
            raise DependencyError("prometheus is not installed: apt-get install -y prometheus")
        self.root = Path(root) / "prometheus"
        self.address = ports.address()
        self.targets, self.scrape_s = [str(t) for t in targets], scrape_s
        self.user = user
        self.headers = {"Authorization": "Basic " + base64.b64encode(":".join(user).encode()).decode()} \
            if user else {}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self, deadline_s: float = 60.0) -> LocalPrometheus:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "prometheus.yml"
        targets = ", ".join(f"'{t}'" for t in self.targets)
        every = f"{int(self.scrape_s * 1000)}ms"
        config.write_text(f"global:\n  scrape_interval: {every}\n  evaluation_interval: {every}\n"
                          f"scrape_configs:\n  - job_name: sampleapp\n"
                          f"    scrape_timeout: {int(self.scrape_s * 800)}ms\n"
                          f"    static_configs:\n      - targets: [{targets}]\n")
        web = []
        if self.user:
            with warnings.catch_warnings():  # crypt: bcrypt without a dependency, as long as it lasts
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt

            hashed = crypt.crypt(self.user[1], crypt.METHOD_BLOWFISH)
            (self.root / "web.yml").write_text(f"basic_auth_users:\n  {self.user[0]}: '{hashed}'\n")
            web = [f"--web.config.file={self.root / 'web.yml'}"]
        with open(self.root / "prometheus.log", "ab") as log:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.root / 'data'}",
                 f"--web.listen-address={self.address}", "--storage.tsdb.retention.time=1h", *web],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            wait_for(self._ready, deadline_s, f"prometheus on {self.address}", 0.1)
        except TimeoutError as exc:
            self.stop()
            raise DependencyError(f"{exc}; see {self.root / 'prometheus.log'}") from None
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise DependencyError(f"prometheus exited {self.proc.returncode}; see "
                                  f"{self.root / 'prometheus.log'}")
        return http.get(self.address, "/-/ready", 1, self.headers).ok

    def scraped(self, target: str) -> bool:
        """True once the last scrape of target succeeded."""
        answer = http.get(self.address, "/api/v1/targets", 2, self.headers, limit=1 << 20)
        try:
            active = json.loads(answer.body)["data"]["activeTargets"]
        except (ValueError, KeyError, TypeError):
            return False
        return any(t.get("scrapeUrl") == f"http://{target}/metrics" and t.get("health") == "up"
                   for t in active)

    def stop(self) -> None:
        stop_group(self.proc, 15)


class Traffic:
    """GETs through one Varnish front at a steady rate, on a thread, bounded in count and time;
    every response kept as (monotonic time, status, color) (status None: no answer)."""

    def __init__(self, front: Address, rate: float = 50, limit_s: float = 120, limit: int = 20000,
                 header: str = "x-bluegreen-color", host: str | None = None):
        self.front, self.rate, self.limit_s, self.limit, self.header = front, rate, limit_s, limit, header
        self.headers = {"Host": host} if host else {}
        self.seen: list[tuple[float, int | None, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def count(self, since: float = 0.0, status=None, color=None) -> int:
        return sum(1 for t, s, c in list(self.seen) if t >= since and (status is None or status(s))
                   and (color is None or c == color))

    def _run(self) -> None:
        start = time.monotonic()
        conn = None
        for n in range(self.limit):
            now = time.monotonic()
            if self._stop.is_set() or now - start > self.limit_s:
                break
            if conn is None:
                conn = http_client.HTTPConnection(self.front.host, self.front.port, timeout=5)
            try:
                conn.request("GET", f"/page?n={n}", headers=self.headers)
                resp = conn.getresponse()
                resp.read()
                self.seen.append((time.monotonic(), resp.status, resp.getheader(self.header)))
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http_client.HTTPException):
                self.seen.append((time.monotonic(), None, None))
                conn.close()
                conn = None
            self._stop.wait(max(0.0, start + (n + 1) / self.rate - time.monotonic()))
        if conn is not None:
            conn.close()
