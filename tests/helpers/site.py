"""`Site`: one stage of the app 'shop' named 'test' on this machine: real varnishd instances on
loopback, real sample app servers (started by their deploy command), the CLI run in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bluegreen.checks import http
from bluegreen.cli import main
from bluegreen.demo import local
from bluegreen.model import Address
from tests.helpers import ports
from tests.helpers.paths import DEPLOY


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Site:
    """One stage of the app 'shop' named 'test': its Varnish instances, servers and files."""

    root: Path
    varnishes: list
    blue: list
    green: list
    run_dir: Path
    capsys: object
    monkeypatch: object
    extra: dict = field(default_factory=dict)

    @property
    def varnish(self):
        return self.varnishes[0]

    @property
    def config(self) -> Path:
        return self.root / "bluegreen.toml"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def secret(self) -> str:
        return self.varnish.secret_path.read_text()

    def write_config(self, path: Path | None = None, **overrides) -> Path:
        """The stage 'test' of app 'shop' (or `app=`, `stage=` ... overrides) into the config file."""
        path = path or self.config
        parts = {
            "app": '"shop"', "secret_file": f'"{self.varnish.secret_path}"',
            "vcl": "", "checks": "timeout_s = 2\nwait_s = 8\n",
            "deploy": (f'command = ["{sys.executable}", "{DEPLOY}", "{{host}}", "{{port}}", '
                       '"{version}", "{color}"]\nparallel = 4\ntimeout_s = 30\n'),
            "stage": (f'varnish = [{", ".join(repr(str(v.admin)) for v in self.varnishes)}]\n'
                      f'front = [{", ".join(repr(str(v.http)) for v in self.varnishes)}]\n'
                      f'blue = [{", ".join(repr(str(a)) for a in self.blue)}]\n'
                      f'green = [{", ".join(repr(str(a)) for a in self.green)}]\n'),
        }
        parts.update(overrides)
        text = (f"app = {parts['app']}\nsecret_file = {parts['secret_file']}\n\n"
                f"[vcl]\n{parts['vcl']}\n[checks]\n{parts['checks']}\n"
                f"[deploy]\n{parts['deploy']}\n[stages.test]\n{parts['stage']}")
        path.write_text(text.replace("'", '"'))
        return path

    def use_preview_listener(self, token: str):
        """Varnish 0 started again with a preview listener (-a preview=...), and the config to
        preview through it with `token`; the new instance (its listeners["preview"])."""
        self.varnish.stop()
        varnish = ports.varnish(self.root, self.varnish.secret_path, "vp", listeners=("preview",))
        self.varnishes[0] = varnish
        token_file = self.root / "preview.token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o644)
        self.write_config(vcl=f'preview_listener = "preview"\npreview_token_file = "{token_file}"\n')
        with self.config.open("a") as fh:
            fh.write(f'preview = ["{varnish.listeners["preview"]}"]\n')
        return varnish

    def cli(self, *argv: str, config: Path | None = None, out: Path | None = None) -> Run:
        self.capsys.readouterr()
        code = main(["-c", str(config or self.config), "--out", str(out or self.out), *argv])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def ok(self, *argv: str, **kw) -> Run:
        run = self.cli(*argv, **kw)
        assert run.code == 0, run.text + self.varnish_errors()
        return run

    def varnish_errors(self) -> str:
        """Varnish's own log of requests that failed, to explain a failed assertion."""
        logs = []
        for v in self.varnishes:
            proc = subprocess.run(["varnishlog", "-d", "-n", str(v.workdir), "-g", "request",
                                   "-q", "RespStatus >= 500"], capture_output=True, text=True)
            logs.append(proc.stdout[-4000:])
        return "\n--- varnishlog of failed requests ---\n" + "\n".join(logs)

    def release(self, version: str, **kw) -> None:
        for argv in (["passive"], ["deploy", "--version", version], ["verify"], ["switch"],
                     ["record"]):
            self.ok(*argv, "--stage", "test", **kw)

    def deploy_by_hand(self, server: Address, version: str, color: str) -> None:
        subprocess.run([sys.executable, str(DEPLOY), server.host, str(server.port), version, color],
                       check=True, capture_output=True)

    def actives(self) -> list[str | None]:
        out = []
        for v in self.varnishes:
            with v.connect() as admin:
                out.append(admin.active_vcl())
        return out

    def served(self, path: str = "/version", headers: dict | None = None, front: int = 0):
        """(color, body) of a request through Varnish."""
        answer = http.get(self.varnishes[front].http, path, 5, headers)
        return answer.headers.get("x-bluegreen-color"), answer.body.strip()

    def state(self) -> dict:
        return json.loads((self.out / "test" / "state.json").read_text())

    def outputs_text(self) -> str:
        """Every file under OUT/, for the check that no secret leaked into one."""
        return "".join(p.read_text(errors="replace") for p in self.out.rglob("*") if p.is_file())


def make_site(workdir, capsys, monkeypatch, instances=1, blue=1, green=1) -> Site:
    """A stage with `instances` varnishd and `blue`, `green` servers (not started: deploy does)."""
    secret = local.write_secret(workdir / "secret")
    run_dir = workdir / "apps"
    monkeypatch.setenv("SAMPLEAPP_RUN_DIR", str(run_dir))
    for key in ("JENKINS_URL", "JOB_NAME", "BUILD_NUMBER", "BLUEGREEN_SECRET_FILE"):
        monkeypatch.delenv(key, raising=False)
    varnishes = []
    site = Site(workdir, varnishes, [ports.address() for _ in range(blue)],
                [ports.address() for _ in range(green)], run_dir, capsys, monkeypatch)
    for n in range(instances):
        varnishes.append(ports.varnish(workdir, secret, f"v{n}"))
    site.write_config()
    return site


def stop_site(site: Site) -> None:
    """Stop every sample app and varnishd the site started."""
    local.stop_sample_apps(site.run_dir)
    for v in site.varnishes:
        v.stop()
