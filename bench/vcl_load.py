#!/usr/bin/env python3
"""deploy's VCL phase over 8 varnishd instances: both colors' VCL loaded one instance at a time
(as bluegreen 0.1 did, and as a varnishadm loop does) against every instance at once (each
instance compiles in parallel). Run: .venv/bin/python bench/vcl_load.py [--instances 8]"""

from __future__ import annotations

import argparse
import statistics
import time

from common import Bench, table


def sources(bench: Bench, tag: str) -> dict[str, str]:
    """Both colors' VCL with a comment that makes them new VCLs (so each round compiles)."""
    out = {}
    for color in ("blue", "green"):
        source = bench.vcl_file(color).read_text() + f"\n# bench round {tag}\n"
        out[f"bench_{color}_{tag}"] = source
    return out


def one_at_a_time(bench: Bench, vcls: dict[str, str]) -> float:
    start = time.perf_counter()
    with bench.fleet() as fleet:
        for admin in fleet.admins:
            for name, source in vcls.items():
                admin.vcl_inline(name, source, "warm")
    return time.perf_counter() - start


def all_at_once(bench: Bench, vcls: dict[str, str]) -> float:
    start = time.perf_counter()
    with bench.fleet() as fleet:
        fleet.prepare(vcls)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seq, par = [], []
    with Bench(args.instances) as bench:
        for n in range(args.rounds):  # alternate, so drift in the machine hits both alike
            seq.append(one_at_a_time(bench, sources(bench, f"s{n}")))
            par.append(all_at_once(bench, sources(bench, f"p{n}")))
    s, p = statistics.median(seq), statistics.median(par)
    print(f"loading both colors' VCL on {args.instances} varnishd instances (median of {args.rounds})")
    print(table([
        ("how", "median", "vs bluegreen"),
        ("bluegreen deploy: every instance at once", f"{p:.2f} s", "1x"),
        ("one instance at a time (bluegreen 0.1, a varnishadm loop)", f"{s:.2f} s", f"{s / p:.1f}x"),
    ]))
    print("(a machine with more cores than this one's 2 compiles more instances truly in parallel)")


if __name__ == "__main__":
    main()
