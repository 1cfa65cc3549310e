#!/usr/bin/env python3
"""Wall time of one `python -m bluegreen switch` process (VCLs loaded, verified) against one
varnishreload on one varnishd, in two forms side by side:

    usual     bluegreen switching 1 instance    vs varnishreload of the same (bluegreen's) VCL
    strictest bluegreen switching 4 instances   vs varnishreload of a minimal one-backend VCL

Run: .venv/bin/python bench/switch_process.py [--rounds 15] [--instances 4]"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from common import ROOT, Bench, median_ms, table

RELOAD = "/usr/share/varnish/varnishreload"
MINIMAL = 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "%d"; }\n'


def switch_times(bench: Bench, rounds: int) -> list[float]:
    """One switch process per round, from the same verified plan, blue live again in between."""
    plan = bench.out / "bench" / "plan.json"
    saved = bench.root / "plan.saved.json"
    shutil.copy(plan, saved)
    argv = [sys.executable, "-m", "bluegreen", "-c", str(bench.config), "--out",
            str(bench.out), "switch", "--stage", "bench"]
    times = []
    for _ in range(rounds):
        shutil.copy(saved, plan)
        bench.use_everywhere(bench.blue_vcl)  # untimed
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def reload_times(bench: Bench, vcl, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([RELOAD, "-n", str(bench.varnishes[0].workdir), "-m", "2", str(vcl)],
                       check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def measure(instances: int, rounds: int, minimal: bool) -> tuple[float, float]:
    with Bench(instances) as bench:
        switching = switch_times(bench, rounds)
        if minimal:
            vcl = bench.root / "minimal.vcl"
            vcl.write_text(MINIMAL % bench.varnishes[0].http.port)
            vcl.chmod(0o644)
        else:
            vcl = bench.vcl_file("green")
        reloading = reload_times(bench, vcl, max(3, rounds // 3))
    return median_ms(switching), median_ms(reloading)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--instances", type=int, default=4, help="instances of the strictest form")
    args = parser.parse_args()
    # as after a regular pip install: the package byte-compiled (pip does it on install)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    rows = [("form", "python -m bluegreen switch", "varnishreload", "ratio", "target")]
    verdicts = []
    for name, instances, minimal in (("usual", 1, False), ("strictest", args.instances, True)):
        bg, rel = measure(instances, args.rounds, minimal)
        what = "a minimal one-backend VCL" if minimal else "bluegreen's VCL"
        rows.append((f"{name}: {instances} instance(s) vs {what}", f"{bg:.0f} ms", f"{rel:.0f} ms",
                     f"{rel / bg:.1f}x", ">= 4x"))
        verdicts.append(rel / bg >= 4)
    print("wall time of one process that makes a new VCL live (median; package byte-compiled as "
          "pip installs it)")
    print(table(rows))
    print(f"target {'met' if all(verdicts) else 'NOT met'} in every form (the switch window itself "
          "is bench/fleet_switch.py's)")


if __name__ == "__main__":
    main()
