"""The shared Jenkinsfile and vars/ run by the Groovy harness: three builds in a row against real
varnishd instances and sample apps, with Jenkins' REST API served from the archived builds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bluegreen import local
from bluegreen.config import Address
from tests.conftest import DEPLOY, ROOT, stop_site
from tests.fake_jenkins import FakeJenkins

TOKEN = "api-token-never-shown"


def groovy() -> str:
    binary = shutil.which("groovy")
    assert binary, "Debian's groovy is needed for the pipeline tests: ./dev setup installs it"
    return binary


class Builds:
    """Runs builds of the Jenkinsfile in fresh workspaces, as Jenkins would."""

    def __init__(self, root: Path, varnishes, servers, secret: Path, jenkins: FakeJenkins):
        self.root, self.varnishes, self.servers = root, varnishes, servers
        self.secret, self.jenkins = secret, jenkins
        self.artifacts = root / "artifacts"
        self.artifacts.mkdir(exist_ok=True)
        self.number = 0

    def config(self) -> str:
        stages = []
        for n, name in enumerate(("test", "prod")):
            v = self.varnishes[n]
            blue, green = self.servers[name]
            stages.append(f'[stages.{name}]\nvarnish = ["{v.admin}"]\nfront = ["{v.http}"]\n'
                          f'blue = ["{blue}"]\ngreen = ["{green}"]\n')
        return (f'app = "shop"\n\n[checks]\ntimeout_s = 2\nwait_s = 10\n\n[deploy]\n'
                f'command = ["{sys.executable}", "{DEPLOY}", "{{host}}", "{{port}}", "{{version}}", '
                f'"{{color}}"]\n\n' + "\n".join(stages))

    def run(self, **params) -> tuple[int, dict, str]:
        self.number += 1
        workspace = self.root / f"workspace-{self.number}"
        workspace.mkdir()
        (workspace / "bluegreen.toml").write_text(self.config())
        log = self.root / f"build-{self.number}.json"
        spec = {
            "jenkinsfile": str(ROOT / "Jenkinsfile"), "vars": str(ROOT / "vars"),
            "workspace": str(workspace), "artifacts": str(self.artifacts), "build": self.number,
            "params": params, "log": str(log),
            "env": {"JENKINS_URL": self.jenkins.url, "JOB_NAME": "shop",
                    "BUILD_URL": f"{self.jenkins.url}job/shop/{self.number}/",
                    "WORKSPACE": str(workspace),
                    "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
            "credentials": {"varnish-secret": str(self.secret),
                            "jenkins-api-token": {"username": "deployer", "password": TOKEN}},
        }
        spec_path = self.root / f"spec-{self.number}.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.run([groovy(), str(ROOT / "tests" / "groovy" / "harness.groovy"),
                               str(spec_path)], capture_output=True, text=True, timeout=600)
        assert log.exists(), proc.stdout[-3000:] + proc.stderr[:3000]  # the exception comes first
        return proc.returncode, json.loads(log.read_text()), Path(str(log) + ".console").read_text()

    def served(self, stage: str) -> tuple[str | None, str]:
        from bluegreen import checks

        front = self.varnishes[0 if stage == "test" else 1].http
        answer = checks.get(front, "/version", 5)
        return answer.headers.get("x-bluegreen-color"), answer.body.strip()


@pytest.fixture
def builds(workdir, monkeypatch):
    secret = local.write_secret(workdir / "secret")
    monkeypatch.setenv("SAMPLEAPP_RUN_DIR", str(workdir / "apps"))
    for key in ("JENKINS_URL", "JOB_NAME", "BUILD_NUMBER", "BLUEGREEN_SECRET_FILE"):
        monkeypatch.delenv(key, raising=False)
    varnishes = []
    site = type("S", (), {"run_dir": workdir / "apps", "varnishes": varnishes})
    try:
        for name in ("test", "prod"):
            varnishes.append(local.LocalVarnish(workdir, secret, name=name).start())
        servers = {s: [Address("127.0.0.1", local.free_port()) for _ in range(2)]
                   for s in ("test", "prod")}
        with FakeJenkins(workdir / "artifacts", "shop", "deployer", TOKEN) as jenkins:
            yield Builds(workdir, varnishes, servers, secret, jenkins)
    finally:
        stop_site(site)


def stages_run(log: dict) -> list[str]:
    return [e["name"] for e in log["events"] if e["type"] == "stage" and not e.get("skipped")]


class TestThreeBuilds:
    """Release, release again onto the other color, roll back: as Jenkins would run them."""

    def test_release_release_rollback(self, builds):
        code, log, console = builds.run(ACTION="release", VERSION="1.0.0")
        assert code == 0, console[-3000:]
        assert stages_run(log) == [
            "test", "test: passive", "test: deploy", "test: verify", "test: switch", "test: record",
            "prod", "prod: passive", "prod: deploy", "prod: verify", "prod: approve",
            "prod: switch", "prod: record"]
        locks = [e["resource"] for e in log["events"] if e.get("option") == "lock"]
        assert locks == ["bluegreen-shop-test", "bluegreen-shop-prod"]
        assert [e for e in log["events"] if e["type"] == "input"][0]["approved"]
        assert any(e["type"] == "junit" and e["files"] for e in log["events"])
        assert any(e["type"] == "publishHTML" and e["present"] for e in log["events"])
        assert builds.served("test") == ("blue", "1.0.0")
        assert builds.served("prod") == ("blue", "1.0.0")
        assert log["description"].splitlines() == [
            line for line in log["description"].splitlines() if line.startswith(("test:", "prod:"))]
        assert "prod: LIVE blue 1.0.0" in log["description"]
        archived = builds.artifacts / "1" / "bluegreen-out" / "prod" / "state.json"
        assert json.loads(archived.read_text())["build"]["number"] == 1

        code, log, console = builds.run(ACTION="release", VERSION="1.1.0")
        assert code == 0, console[-3000:]
        assert "passive is green" in console
        assert builds.served("test") == ("green", "1.1.0")
        assert builds.served("prod") == ("green", "1.1.0")
        assert any("/job/shop/1/artifact/bluegreen-out/prod/state.json" in r
                   for r in builds.jenkins.requests), "build 2 read build 1's archived state"
        assert "prod: LIVE green 1.1.0" in log["description"]
        assert "rollback to blue 1.0.0 ready" in log["description"]

        code, log, console = builds.run(ACTION="rollback", ROLLBACK_STAGE="prod")
        assert code == 0, console[-3000:]
        assert stages_run(log) == ["rollback"]
        assert builds.served("prod") == ("blue", "1.0.0")
        assert builds.served("test") == ("green", "1.1.0")
        state = json.loads((builds.artifacts / "3" / "bluegreen-out" / "prod" / "state.json").read_text())
        assert state["live"] == "blue" and state["history"][-1]["action"] == "rollback"
        for n in (1, 2, 3):
            text = (builds.root / f"build-{n}.json.console").read_text()
            assert TOKEN not in text and builds.secret.read_text().strip() not in text

    def test_failed_verify_fails_the_build_archives_and_changes_nothing(self, builds):
        code, log, console = builds.run(ACTION="release", VERSION="1.0.0")
        assert code == 0, console[-3000:]
        code, log, console = builds.run(ACTION="release", VERSION="2.0.0-broken")
        assert code == 1
        assert stages_run(log)[-1] == "test: verify"
        assert "exit 1 (refused, or a check failed" in console
        assert any(e["type"] == "junit" and e["files"] for e in log["events"])
        assert any(e["type"] == "archive" for e in log["events"]), "post always archives"
        assert builds.served("test") == ("blue", "1.0.0")

    def test_release_without_version_stops_at_deploy(self, builds):
        code, log, console = builds.run(ACTION="release", VERSION="")
        assert code == 1
        assert "version is required" in console
        assert builds.served("test")[0] is None
