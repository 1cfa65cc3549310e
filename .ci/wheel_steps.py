"""A release step by step with an installed bluegreen, against a real varnishd started for it.

Run by .ci/wheel with the fresh venv's python, in isolated mode (-I) from a folder outside the
source tree, so only the installed wheel can be imported. Uses the `bluegreen` script of that
venv for every step, and the sample app the wheel ships as the deploy command. Exits 0 when every
step did what it should, 1 with the first thing that did not.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import bluegreen
from bluegreen.checks import http
from bluegreen.demo import local

CONFIG = """\
app = "wheel"
secret_file = "{secret}"

[checks]
timeout_s = 2
wait_s = 20

[deploy]
command = {command}
parallel = 2
timeout_s = 60

[stages.ci]
varnish = ["{admin}"]
front = ["{http}"]
blue = ["127.0.0.1:{blue}"]
green = ["127.0.0.1:{green}"]
"""


class Failed(Exception):
    pass


def step(bluegreen_script: Path, config: Path, out: Path, *argv: str) -> subprocess.CompletedProcess:
    command = [str(bluegreen_script), "-c", str(config), "--out", str(out), *argv]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    print(f"wheel-steps: bluegreen {' '.join(argv)} -> exit {proc.returncode}", flush=True)
    if "internal error" in proc.stderr or "Traceback" in proc.stderr:
        raise Failed(f"bluegreen {' '.join(argv)} crashed:\n{proc.stderr}")
    return proc


def expect(proc: subprocess.CompletedProcess, code: int, what: str) -> subprocess.CompletedProcess:
    if proc.returncode != code:
        raise Failed(f"{what}: exit {proc.returncode}, expected {code}\nstdout: {proc.stdout}\n"
                     f"stderr: {proc.stderr}")
    return proc


def installed_outside(source_tree: Path | None) -> Path:
    """The bluegreen imported is the venv's, not a source tree's."""
    where = Path(bluegreen.__file__).resolve()
    if Path(sys.prefix).resolve() not in where.parents:
        raise Failed(f"bluegreen was imported from {where}, not from the venv {sys.prefix}")
    if source_tree is not None and source_tree.resolve() in where.parents:
        raise Failed(f"bluegreen was imported from the source tree: {where}")
    return where


def release_step_by_step(root: Path) -> None:
    script = Path(sys.executable).parent / "bluegreen"
    secret = local.write_secret(root / "secret")
    varnish = local.LocalVarnish(root, secret).start()
    try:
        ports = {"blue": local.free_port(), "green": local.free_port()}
        command = "[" + ", ".join(json.dumps(a) for a in local.deploy_command()) + "]"
        config = root / "bluegreen.toml"
        config.write_text(CONFIG.format(secret=secret, command=command, admin=varnish.admin,
                                        http=varnish.http, **ports))
        out = root / "out"
        run = lambda *argv: step(script, config, out, *argv)  # noqa: E731
        passive = expect(run("passive", "--stage", "ci"), 0, "passive")
        if passive.stdout.strip() != "blue":
            raise Failed(f"passive printed {passive.stdout.strip()!r}, expected 'blue'")
        expect(run("deploy", "--stage", "ci", "--version", "1.0.0"), 0, "deploy")
        expect(run("verify", "--stage", "ci"), 0, "verify")
        expect(run("switch", "--stage", "ci"), 0, "switch")
        expect(run("record", "--stage", "ci"), 0, "record")
        status = json.loads(expect(run("--json", "status", "--stage", "ci"), 0, "status").stdout)
        check_result(status, out / "ci", varnish)
    finally:
        local.stop_sample_apps(root / "apps")
        varnish.stop()


def check_result(status: dict, files: Path, varnish) -> None:
    if status.get("version") != bluegreen.__version__:
        raise Failed(f"status --json version {status.get('version')!r}, expected {bluegreen.__version__}")
    if status["stages"]["ci"]["recorded_live"] != "blue":
        raise Failed(f"status says recorded live {status['stages']['ci']['recorded_live']!r}")
    state = json.loads((files / "state.json").read_text())
    if state.get("bluegreen_version") != bluegreen.__version__ or state.get("live") != "blue":
        raise Failed(f"state.json: live {state.get('live')!r}, "
                     f"written by {state.get('bluegreen_version')!r}")
    for name in ("report.html", "report.css", "summary.txt", "junit-verify.xml"):
        if not (files / name).is_file():
            raise Failed(f"{files / name} was not written")
    answer = http.get(varnish.http, "/version", timeout=5)
    if not answer.ok or answer.body.strip() != "1.0.0":
        raise Failed(f"through Varnish /version answered {http.describe(answer)}")
    print(f"wheel-steps: LIVE blue 1.0.0 through {varnish.http}; "
          f"summary: {(files / 'summary.txt').read_text().strip()}")


def _terminated(number, frame):
    raise KeyboardInterrupt  # unwinds through the finally blocks: varnishd and the apps stop


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _terminated)
    source_tree = Path(argv[0]) if argv else None
    try:
        where = installed_outside(source_tree)
        print(f"wheel-steps: bluegreen {bluegreen.__version__} from {where.parent}")
        root = local.shared_tempdir("bluegreen-wheel-steps-")
        os.environ["SAMPLEAPP_RUN_DIR"] = str(root / "apps")
        try:
            release_step_by_step(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    except Failed as exc:
        print(f"wheel-steps: FAILED: {exc}", file=sys.stderr)
        return 1
    print("wheel-steps: passive, deploy, verify, switch, record, status: all as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
