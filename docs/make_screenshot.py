#!/usr/bin/env python3
"""Make docs/report.png: a real stage report (1.0.0 then 1.1.0 released on a local Varnish),
served under Jenkins' artifact CSP and rendered by headless Chromium.
Run: .venv/bin/python docs/make_screenshot.py"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from common import Bench, cli  # noqa: E402
from tests.browser import CSPServer, blocked, render  # noqa: E402


def main() -> None:
    with Bench(2, app="shop", stage="prod") as bench:
        for argv in (["switch"], ["record"]):
            assert cli(*argv, "--stage", "prod", config=bench.config, out=bench.out) == 0
        folder = bench.out / "prod"
        with CSPServer(folder) as server, tempfile.TemporaryDirectory() as tmp:
            log = render(server.url("report.html"), ROOT / "docs" / "report.png", Path(tmp))
    assert not blocked(log), blocked(log)
    print(ROOT / "docs" / "report.png")


if __name__ == "__main__":
    main()
