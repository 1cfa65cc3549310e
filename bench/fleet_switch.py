#!/usr/bin/env python3
"""Switch window over 8 local varnishd instances: bluegreen (vcl.use, and vcl.label in label mode)
against a varnishadm loop and a varnishreload loop.
Run: .venv/bin/python bench/fleet_switch.py [--instances 8] [--rounds 50]"""

from __future__ import annotations

import argparse
import time

from common import Bench, median_ms, table

RELOAD = "/usr/share/varnish/varnishreload"


def bluegreen_windows(bench: Bench, rounds: int, label: str | None = None) -> list[float]:
    """Windows of the two-phase switch; with a label, of moving that label (label mode)."""
    windows = []
    names = [bench.green_vcl, bench.blue_vcl]
    with bench.fleet(label) as fleet:
        current = fleet.lives()
        for n in range(rounds):
            target = names[n % 2]
            result = fleet.switch(target, current, "bench")
            windows.append(result.window_ms / 1000)
            current = dict.fromkeys(current, target)
    return windows


def varnishadm_windows(bench: Bench, rounds: int) -> list[float]:
    windows = []
    names = [bench.green_vcl, bench.blue_vcl]
    for n in range(rounds):
        start = time.perf_counter()
        for v in bench.varnishes:
            bench.varnishadm(v, "vcl.use", names[n % 2])
        windows.append(time.perf_counter() - start)
    return windows


def varnishreload_windows(bench: Bench, rounds: int) -> list[float]:
    import subprocess

    windows = []
    files = [bench.vcl_file("green"), bench.vcl_file("blue")]
    for n in range(rounds):
        start = time.perf_counter()
        for v in bench.varnishes:
            subprocess.run([RELOAD, "-n", str(v.workdir), "-m", "2", str(files[n % 2])],
                           check=True, capture_output=True)
        windows.append(time.perf_counter() - start)
    return windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with Bench(args.instances) as bench:
        bg = median_ms(bluegreen_windows(bench, args.rounds))
        lbl = median_ms(bluegreen_windows(bench, args.rounds, label="bench_label"))
        adm = median_ms(varnishadm_windows(bench, max(5, args.rounds // 5)))
        rel = median_ms(varnishreload_windows(bench, 3))
    print(f"switch window over {args.instances} varnishd instances (median; from the first "
          "instance told to the last one done)")
    print(table([
        ("how", "median window", "vs bluegreen", "target"),
        ("bluegreen switch (two-phase)", f"{bg:.3f} ms", "1x", "<= 1 ms"),
        ("bluegreen switch, label mode", f"{lbl:.3f} ms", f"{lbl / bg:.1f}x", "<= 1 ms"),
        ("varnishadm vcl.use loop", f"{adm:.1f} ms", f"{adm / bg:.0f}x", ">= 15x bluegreen"),
        ("varnishreload loop", f"{rel:.0f} ms", f"{rel / bg:.0f}x", "-"),
    ]))
    ok = bg <= 1.0 and lbl <= 1.0 and adm / bg >= 15
    print(f"targets {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
