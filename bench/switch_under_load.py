#!/usr/bin/env python3
"""wrk through Varnish against the sample app: a baseline run, then a run while 200 switches and
20 rollbacks (switches back) go out. Run: .venv/bin/python bench/switch_under_load.py"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import threading
import time

from common import Bench, table


def wrk(url: str, seconds: int, *extra: str) -> dict:
    proc = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "--timeout", "5s",
                           *extra, url], capture_output=True, text=True, check=True)
    text = proc.stdout
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
    errors = m.group(0) if (m := re.search(r"Socket errors: .*", text)) else "Socket errors: none"
    counts = re.findall(r"\d+", errors.split(":", 1)[1]) if "none" not in errors else []
    socket_errors = sum(int(x) for x in counts)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"requests": requests, "non2xx": non2xx, "socket_errors": socket_errors,
            "p99_ms": float(p99.group(1)) * scale}


def switcher(bench: Bench, switches: int, rollbacks: int, seconds: float, done: dict) -> None:
    names = [bench.green_vcl, bench.blue_vcl]
    total = switches + rollbacks
    gap = seconds / (total + 1)
    windows = []
    with bench.fleet() as fleet:
        current = fleet.lives()
        for n in range(total):
            time.sleep(gap)
            target = names[n % 2]
            windows.append(fleet.switch(target, current, "bench").window_ms)
            current = dict.fromkeys(current, target)
    done.update(count=total, max_window_ms=max(windows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--path", default="/")
    args = parser.parse_args()
    rows, base, load, windows = [], [], [], []
    with Bench(1) as bench:
        url = f"http://{bench.varnishes[0].http}{args.path}"
        for color in ("blue", "green"):  # warm both colors' caches (preview header) and connections
            wrk(url, 1, "-H", f"X-Bluegreen-Color: {color}")
        for n in range(args.rounds):  # alternate, so drift in the machine hits both alike
            base.append(wrk(url, args.seconds))
            done: dict = {}
            per_round = (200 + 20) // args.rounds
            thread = threading.Thread(target=switcher, args=(
                bench, per_round - per_round // 11, per_round // 11, args.seconds - 1, done))
            thread.start()
            load.append(wrk(url, args.seconds))
            thread.join()
            windows.append(done)
            rows += [(f"{n + 1} without switching", *_cells(base[-1])),
                     (f"{n + 1} while switching ({done['count']})", *_cells(load[-1]))]
    switches = sum(w["count"] for w in windows)
    print(f"wrk -t2 -c32 through Varnish to the sample app ({args.path}), {args.rounds} rounds of "
          f"{args.seconds} s each way; {switches} switches in all (about 1 in 11 back, as a "
          f"rollback), longest window {max(w['max_window_ms'] for w in windows):.3f} ms")
    print(table([("run", "requests", "non-2xx", "socket errors", "p99"), *rows]))
    failed = sum(r["non2xx"] + r["socket_errors"] for r in load)
    p99_base = statistics.median(r["p99_ms"] for r in base)
    p99_load = statistics.median(r["p99_ms"] for r in load)
    ratio = p99_load / p99_base
    print(f"failed requests while switching: {failed} (target 0); median p99 {p99_load:.2f} ms "
          f"switching vs {p99_base:.2f} ms not: ratio {ratio:.2f} (target <= 1.5): targets "
          f"{'met' if failed == 0 and ratio <= 1.5 else 'NOT met'}")


def _cells(r: dict) -> tuple[str, ...]:
    return (str(r["requests"]), str(r["non2xx"]), str(r["socket_errors"]), f"{r['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
