#!/usr/bin/env python3
"""Requests compared per second: bluegreen compare for 500 requests on 2 local varnishd instances,
against what users would otherwise run (a sequential curl loop, 3 requests a request and front,
then diff). Run: .venv/bin/python bench/compare.py [--requests 500] [--instances 2]"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

from common import Bench, cli, table

EXPECTED = """
[[change]]
path = "/api/products/1*"
field = "price"
[[change]]
path = "/api/products/1*"
field = "stock"
[[change]]
path = "/api/products?*"
field = "products.0.price"
[[change]]
path = "/api/products?*"
field = "products.0.stock"
[[change]]
path = "/page*"
field = "body"
"""


def requests(n: int) -> list[str]:
    """n distinct safe requests over the sample app's JSON API and pages."""
    paths = ["/api/products/1", "/api/products/2", "/api/products/3", "/api/products", "/page"]
    return [f"GET {paths[i % len(paths)]}?n={i}" for i in range(n)]


def bluegreen(bench: Bench, lines: list[str], concurrency: int) -> float:
    (bench.root / "requests.txt").write_text("\n".join(lines) + "\n")
    (bench.root / "expected.toml").write_text(EXPECTED)
    config = bench.root / f"compare-{concurrency}.toml"
    config.write_text(bench.config.read_text() + '\n[compare]\nrequests = "requests.txt"\n'
                      f'expected = "expected.toml"\nconcurrency = {concurrency}\n')
    start = time.perf_counter()
    code = cli("compare", "--stage", bench.stage, config=config, out=bench.out)
    took = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"compare exited {code}; see {bench.out / bench.stage}")
    return took


def curl_loop(bench: Bench, lines: list[str]) -> float:
    """The shell loop a user would write: curl live, curl passive, curl live, diff the bodies."""
    fronts = " ".join(str(v.http) for v in bench.varnishes)
    paths = "\n".join(line.split()[1] for line in lines)
    script = f"""
set -u
cd "$1"
while read -r path; do
  for front in {fronts}; do
    curl -s -H 'X-Bluegreen-Color: blue' -H 'X-Bluegreen-Pass: 1' "http://$front$path" > a
    curl -s -H 'X-Bluegreen-Color: green' -H 'X-Bluegreen-Pass: 1' "http://$front$path" > p
    curl -s -H 'X-Bluegreen-Color: blue' -H 'X-Bluegreen-Pass: 1' "http://$front$path" > b
    diff -q a p > /dev/null || true
  done
done
"""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(["bash", "-c", script, "loop", tmp], input=paths, text=True, check=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--curl", type=int, default=100, help="requests the curl loop runs")
    args = parser.parse_args()
    lines = requests(args.requests)
    with Bench(args.instances) as bench:
        parallel = bluegreen(bench, lines, 16)
        sequential = bluegreen(bench, lines, 1)
        curl = curl_loop(bench, lines[:args.curl])
    rate, seq, loop = (args.requests / parallel, args.requests / sequential, args.curl / curl)
    print(f"requests compared per second, {args.requests} requests on {args.instances} varnishd "
          f"instances (3 answers per request and instance: {3 * args.requests * args.instances} "
          "HTTP requests)")
    print(table([
        ("how", "requests/s", "wall time", "vs curl loop"),
        ("bluegreen compare (concurrency 16)", f"{rate:.0f}", f"{parallel:.1f} s", f"{rate / loop:.1f}x"),
        ("bluegreen compare (concurrency 1)", f"{seq:.0f}", f"{sequential:.1f} s", f"{seq / loop:.1f}x"),
        (f"sequential curl loop ({args.curl} requests)", f"{loop:.0f}",
         f"{args.requests / loop:.1f} s for {args.requests}", "1x"),
    ]))
    print(f"target (500 requests take seconds, not minutes): {'met' if parallel < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
