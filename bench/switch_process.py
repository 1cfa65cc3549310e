#!/usr/bin/env python3
"""Wall time of one `python -m bluegreen switch` process (VCLs loaded, verified) against one
varnishreload, on one varnishd. Run: .venv/bin/python bench/switch_process.py [--rounds 15]"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from common import ROOT, Bench, median_ms, table

RELOAD = "/usr/share/varnish/varnishreload"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    # as after a regular pip install: the package byte-compiled (pip does it on install)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    with Bench(1) as bench:
        plan = bench.out / "bench" / "plan.json"
        saved = bench.root / "plan.saved.json"
        shutil.copy(plan, saved)
        argv = [sys.executable, "-m", "bluegreen", "-c", str(bench.config), "--out",
                str(bench.out), "switch", "--stage", "bench"]
        times = []
        for _ in range(args.rounds):
            shutil.copy(saved, plan)           # the same verified plan each round
            bench.use_everywhere(bench.blue_vcl)  # blue live again, untimed
            start = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        vcl = bench.vcl_file("green")
        reloads = []
        for _ in range(max(3, args.rounds // 3)):
            start = time.perf_counter()
            subprocess.run([RELOAD, "-n", str(bench.varnishes[0].workdir), "-m", "2", str(vcl)],
                           check=True, capture_output=True)
            reloads.append(time.perf_counter() - start)
    bg, rel = median_ms(times), median_ms(reloads)
    print("wall time of one process that makes a new VCL live on one varnishd (median; "
          "package byte-compiled as pip installs it)")
    print(table([
        ("how", "median", "vs bluegreen", "target"),
        ("python -m bluegreen switch", f"{bg:.0f} ms", "1x", "-"),
        ("varnishreload", f"{rel:.0f} ms", f"{rel / bg:.1f}x", ">= 4x bluegreen"),
    ]))
    print(f"target {'met' if rel / bg >= 4 else 'NOT met'} (the switch process stays well ahead of "
          "varnishreload; the switch window itself is bench/fleet_switch.py's)")


if __name__ == "__main__":
    main()
