#!/usr/bin/env python3
"""How fast `watch` takes a bad release back: a release failing 20% of its pages goes live under
steady traffic through Varnish (switch, record, watch, as in the pipeline); measured from the
first failing response users got to the old color answering again, and the failed responses in
between, for interval_s 5 and 10 (target: back within 2 intervals), beside what users would get
while a person notices and rolls back by hand.
Run: .venv/bin/python bench/watch.py [--intervals 5 10] [--rate 50] [--human-s 600]"""

from __future__ import annotations

import argparse
import json

from common import Bench, cli, table
from tests.helpers.local_watch import Traffic


def watch_config(bench: Bench, interval_s: float, min_requests: int) -> None:
    names = "\n".join(f'"{v.admin}" = "{v.workdir}"' for v in bench.varnishes)
    bench.config.write_text(bench.config.read_text() + (
        f"\n[watch]\nseconds = {interval_s * 6:g}\ninterval_s = {interval_s:g}\n"
        f"max_error_rate = 0.05\nmin_requests = {min_requests}\nsource = \"varnish\"\n"
        f"log_command = [\"varnishncsa\", \"-n\", \"{{name}}\"]\n[watch.log_names]\n{names}\n"))


def one_run(interval_s: float, rate: float) -> dict:
    with Bench(1) as bench:
        watch_config(bench, interval_s, min_requests=max(10, int(rate * interval_s / 4)))
        stage = ("--stage", bench.stage)
        run = {"config": bench.config, "out": bench.out}
        for argv in (["deploy", "--version", "1.1.0-fail20"], ["verify"]):
            if cli(*argv, *stage, **run):
                raise SystemExit(f"set-up step {argv} failed")
        with Traffic(bench.varnishes[0].http, rate=rate, limit_s=interval_s * 10 + 60) as traffic:
            traffic_ok = _wait_for_traffic(traffic)
            for argv in (["switch"], ["record"]):
                if cli(*argv, *stage, **run):
                    raise SystemExit(f"{argv} failed")
            code = cli("watch", *stage, **run)
            seen = list(traffic.seen)
        state = json.loads((bench.out / bench.stage / "state.json").read_text())
    return _measure(seen, state, code, interval_s, traffic_ok)


def _wait_for_traffic(traffic: Traffic) -> bool:
    from bluegreen.demo.local import wait_for

    return bool(wait_for(lambda: traffic.count(color="blue") >= 20, 30, "traffic on blue"))


def _measure(seen: list, state: dict, code: int, interval_s: float, traffic_ok: bool) -> dict:
    failing = [t for t, s, c in seen if c == "green" and s is not None and s >= 500]
    first_fail = failing[0] if failing else None
    last_green = max((t for t, s, c in seen if c == "green"), default=None)
    back = next((t for t, s, c in seen if c == "blue" and last_green and t > last_green), None)
    failed = sum(1 for t, s, c in seen if first_fail and back and first_fail <= t < back
                 and (s is None or s >= 500))
    served = sum(1 for t, s, c in seen if first_fail and back and first_fail <= t < back)
    watched = state.get("watch") or {}
    return {"interval_s": interval_s, "exit": code, "verdict": watched.get("verdict"),
            "intervals": len(watched.get("intervals") or []),
            "seconds": (back - first_fail) if first_fail and back else None,
            "failed": failed, "served": served, "traffic_ok": traffic_ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=float, nargs="+", default=[5, 10])
    parser.add_argument("--rate", type=float, default=50, help="requests per second through Varnish")
    parser.add_argument("--human-s", type=float, default=600,
                        help="time for a person to notice and roll back by hand (default 10 min: "
                             "an alert after 5 min of errors, 5 min to act)")
    args = parser.parse_args()
    rows = [("interval_s", "verdict", "intervals judged", "first failure -> old color live",
             "within 2 intervals", "failed responses (of served)", "by hand instead (est.)")]
    for interval_s in args.intervals:
        r = one_run(interval_s, args.rate)
        took = "not rolled back" if r["seconds"] is None else f"{r['seconds']:.2f} s"
        per_s = r["failed"] / r["seconds"] if r["seconds"] else 0.0
        rows.append((f"{interval_s:g}", f"{r['verdict']} (exit {r['exit']})", str(r["intervals"]), took,
                     "yes" if r["seconds"] is not None and r["seconds"] <= 2 * interval_s else "NO",
                     f"{r['failed']} (of {r['served']})",
                     f"~{per_s * args.human_s:.0f} failed in {args.human_s:g} s"))
    print(table(rows))
    print(f"\ntraffic: {args.rate:g} requests/s asked through one Varnish (what this machine gave is "
          "in 'served'); the release fails 20% of pages. 'By hand' assumes the same failure rate "
          f"for --human-s {args.human_s:g} s.")


if __name__ == "__main__":
    main()
