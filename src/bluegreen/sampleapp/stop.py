#!/usr/bin/env python3
"""Stop the sample app on one server: stop.py HOST PORT [COLOR] (or `python -m
bluegreen.sampleapp.stop ...`). The retire command of the sample app: idempotent, a server
already stopped is left as it is."""

import os
import sys
from pathlib import Path

from bluegreen.sampleapp.deploy import stop


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: stop.py HOST PORT [COLOR]", file=sys.stderr)
        return 2
    run_dir = Path(os.environ.get("SAMPLEAPP_RUN_DIR", "/tmp/bluegreen-sampleapp"))
    pidfile = run_dir / f"{argv[0]}_{argv[1]}.pid"
    stop(pidfile)
    print(f"sample app on {argv[0]}:{argv[1]} stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
