#!/usr/bin/env python3
"""Soak: 1,000 switches and 100 rollbacks (the rollback step, end to end) under wrk through
Varnish. Prints failed requests (target 0), the spread of switch windows, and the Varnish child's
memory and loaded VCL count before and after (target: within vcl.keep).
Run: .venv/bin/python bench/soak.py [--switches 1000] [--rollbacks 100]"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import time

from common import Bench, cli, table


def child_rss_kb(bench: Bench) -> int:
    manager = bench.varnishes[0].proc.pid
    kids = subprocess.run(["pgrep", "-P", str(manager)], capture_output=True, text=True).stdout.split()
    total = 0
    for pid in kids:
        with open(f"/proc/{pid}/status") as fh:
            total += int(re.search(r"VmRSS:\s+(\d+)", fh.read()).group(1))
    return total


def loaded_vcls(bench: Bench) -> int:
    with bench.fleet() as fleet:
        return len(next(iter(fleet.listing().values())))


def soak(bench: Bench, switches: int, rollbacks: int) -> list[float]:
    windows = []
    names = [bench.green_vcl, bench.blue_vcl]
    with bench.fleet() as fleet:
        current = fleet.lives()
        for n in range(switches):
            target = names[n % 2]
            windows.append(fleet.switch(target, current, "soak").window_ms)
            current = dict.fromkeys(current, target)
    bench.use_everywhere(bench.green_vcl)
    args = ["--stage", bench.stage]
    for _ in range(rollbacks):  # green live and recorded, blue the previous color: roll back
        assert cli("adopt", *args, "--reason", "soak", config=bench.config, out=bench.out) == 0
        assert cli("rollback", *args, config=bench.config, out=bench.out) == 0
        bench.use_everywhere(bench.green_vcl)
    return windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=1000)
    parser.add_argument("--rollbacks", type=int, default=100)
    args = parser.parse_args()
    with Bench(1) as bench:
        cli("switch", "--stage", bench.stage, config=bench.config, out=bench.out)
        cli("record", "--stage", bench.stage, config=bench.config, out=bench.out)
        url = f"http://{bench.varnishes[0].http}/"
        for color in ("blue", "green"):  # fill both colors' caches first: RSS then shows leaks only
            subprocess.run(["wrk", "-t1", "-c8", "-d2s", "-H", f"X-Bluegreen-Color: {color}", url],
                           capture_output=True, check=True)
        rss0, vcls0 = child_rss_kb(bench), loaded_vcls(bench)
        wrk = subprocess.Popen(["wrk", "-t1", "-c8", "-d600s", "--timeout", "5s", url],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        start = time.monotonic()
        try:
            windows = soak(bench, args.switches, args.rollbacks)
        finally:
            wrk.send_signal(2)
            out, _ = wrk.communicate(timeout=60)
        took = time.monotonic() - start
        rss1, vcls1 = child_rss_kb(bench), loaded_vcls(bench)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(map(int, re.findall(r"\d+", m.group(1)))) if (
        m := re.search(r"Socket errors: (.*)", out)) else 0
    q = statistics.quantiles(windows, n=100)
    print(f"soak: {args.switches} switches and {args.rollbacks} rollback steps in {took:.0f} s under "
          f"wrk -c8 through Varnish")
    print(table([
        ("what", "bluegreen", "target"),
        ("failed requests", f"{non2xx + errors} of {requests}", "0"),
        ("switch window p50 / p99 / max", f"{q[49]:.3f} / {q[98]:.3f} / {max(windows):.3f} ms",
         "<= 1 ms p50"),
        ("varnish child RSS before / after", f"{rss0 / 1024:.0f} / {rss1 / 1024:.0f} MiB", "flat"),
        ("loaded VCLs before / after", f"{vcls0} / {vcls1}", "within vcl.keep"),
    ]))
    print("what users would otherwise run: a varnishreload per switch loads a new VCL each time "
          "and leaves it to vcl.discard housekeeping; see bench/fleet_switch.py for its window")


if __name__ == "__main__":
    main()
