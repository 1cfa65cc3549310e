"""Shared set-up for the benchmarks: N local varnishd instances, both colors of the sample app,
blue 1.0.0 live and green 1.1.0 deployed, verified and loaded warm everywhere."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests/ helpers (a local Prometheus, traffic)

from bluegreen.cli import main  # noqa: E402
from bluegreen.demo import local  # noqa: E402
from bluegreen.varnish.fleet import Fleet  # noqa: E402

CONFIG = """app = "{app}"
secret_file = "{secret}"
[checks]
timeout_s = 2
wait_s = 20
[deploy]
command = ["{python}", "{deploy}", "{{host}}", "{{port}}", "{{version}}", "{{color}}"]
[stages.{stage}]
varnish = [{varnish}]
front = [{front}]
blue = ["127.0.0.1:{blue}"]
green = ["127.0.0.1:{green}"]
"""


def cli(*argv: str, config: Path, out: Path) -> int:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return main(["-c", str(config), "--out", str(out), *argv])


class Bench:
    def __init__(self, instances: int, app: str = "bench", stage: str = "bench"):
        self.app, self.stage = app, stage
        self.root = local.shared_tempdir("bluegreen-bench-")
        self.secret = local.write_secret(self.root / "secret")
        self.run_dir = self.root / "apps"
        os.environ["SAMPLEAPP_RUN_DIR"] = str(self.run_dir)
        self.varnishes = []
        self.n = instances

    def __enter__(self) -> Bench:
        try:
            for i in range(self.n):
                self.varnishes.append(local.LocalVarnish(self.root, self.secret, f"v{i}").start())
            self.config = self.root / "bluegreen.toml"
            self.out = self.root / "out"
            self.config.write_text(CONFIG.format(
                app=self.app, stage=self.stage, secret=self.secret, python=sys.executable,
                deploy=ROOT / "src" / "bluegreen" / "sampleapp" / "deploy.py",
                varnish=", ".join(f'"{v.admin}"' for v in self.varnishes),
                front=", ".join(f'"{v.http}"' for v in self.varnishes),
                blue=local.free_port(), green=local.free_port()))
            for argv in (["passive"], ["deploy", "--version", "1.0.0"], ["verify"], ["switch"],
                         ["record"], ["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
                code = cli(*argv, "--stage", self.stage, config=self.config, out=self.out)
                if code:
                    raise SystemExit(f"set-up step {argv} failed with exit {code}")
            plan = self.plan()
            self.blue_vcl, self.green_vcl = plan["vcl"]["blue"], plan["vcl"]["green"]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        local.stop_sample_apps(self.run_dir)
        for v in self.varnishes:
            v.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def plan(self) -> dict:
        import json

        return json.loads((self.out / self.stage / "plan.json").read_text())

    def fleet(self, label: str | None = None) -> Fleet:
        from bluegreen.varnish.targets import ActiveVcl, Label

        return Fleet(tuple(v.admin for v in self.varnishes), self.secret.read_bytes(),
                     target=Label(label) if label else ActiveVcl())

    def use_everywhere(self, name: str) -> None:
        with self.fleet() as fleet:
            for admin in fleet.admins:
                admin.vcl_use(name)

    def vcl_file(self, color: str) -> Path:
        name = self.blue_vcl if color == "blue" else self.green_vcl
        path = self.root / f"{color}.vcl"
        shutil.copy(self.out / self.stage / "vcl" / f"{name}.vcl", path)
        path.chmod(0o644)
        return path

    def varnishadm(self, v, *args: str) -> None:
        subprocess.run(["varnishadm", "-T", str(v.admin), "-S", str(self.secret), *args],
                       check=True, capture_output=True)


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
