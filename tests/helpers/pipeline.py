"""The shared pipeline on the fake Jenkins (fake_jenkins.py): `Ci` is a Jenkins job running the
repository's Jenkinsfile and vars/ in the Groovy harness, and the two stages (test, prod) it
releases to, each a real varnishd with two sample app servers."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from bluegreen.demo import local
from tests.helpers import ports
from tests.helpers.fake_jenkins import FakeJenkins, Finished, Pipeline, User
from tests.helpers.paths import DEPLOY, ROOT
from tests.helpers.site import stop_site

TOKEN = "api-token-never-shown"
USERS = {"deployer": User(TOKEN), "alice": User("alice-token", groups=("release-managers",)),
         "mallory": User("mallory-token")}
# BLUEGREEN_HARNESS_JENKINSFILE / _VARS run these tests against another revision (e.g. the one
# before a fix: `git show REV:Jenkinsfile > /tmp/old/Jenkinsfile`); approvals are then answered
# whatever their id, and BLUEGREEN_HARNESS_SCRIPT_SPLITTING=0 turns script splitting off.
OTHER_REVISION = "BLUEGREEN_HARNESS_JENKINSFILE" in os.environ
JENKINSFILE = Path(os.environ.get("BLUEGREEN_HARNESS_JENKINSFILE", ROOT / "Jenkinsfile"))
VARS = Path(os.environ.get("BLUEGREEN_HARNESS_VARS", ROOT / "vars"))


class Ci:
    """A Jenkins with the shared pipeline, and the two stages (test, prod) it releases to."""

    def __init__(self, root: Path, jenkins: FakeJenkins, varnishes: dict, servers: dict, secret: Path):
        self.root, self.jenkins, self.varnishes, self.servers = root, jenkins, varnishes, servers
        self.secret = secret
        self.scm = root / "scm"
        self.scm.mkdir(exist_ok=True)
        self.write_config()
        bin_dir = root / "agent-bin"  # the agent's bluegreen, where a test may put another
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "bluegreen").symlink_to(Path(sys.executable).parent / "bluegreen")
        agent_env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
                     "SAMPLEAPP_RUN_DIR": str(root / "apps"), "LANG": "C.UTF-8", "HOME": str(root)}
        credentials = {"varnish-secret": {"kind": "file", "content": secret.read_text()},
                       "jenkins-api-token": {"kind": "usernamePassword", "username": "deployer",
                                             "password": TOKEN}}
        self.pipeline = Pipeline(jenkins, JENKINSFILE, VARS, self.scm, agent_env, credentials)
        self.pipeline.script_splitting = os.environ.get("BLUEGREEN_HARNESS_SCRIPT_SPLITTING") != "0"

    def write_config(self, extra: str = "", deploy: list[str] | None = None) -> None:
        """bluegreen.toml as the job's repository holds it (checked out into every workspace)."""
        command = deploy or [sys.executable, str(DEPLOY), "{host}", "{port}", "{version}", "{color}"]
        stages = []
        for name in ("test", "prod"):
            v = self.varnishes[name]
            blue, green = self.servers[name]
            stages.append(f'[stages.{name}]\nvarnish = ["{v.admin}"]\nfront = ["{v.http}"]\n'
                          f'blue = ["{blue}"]\ngreen = ["{green}"]\n')
        (self.scm / "bluegreen.toml").write_text(
            f'app = "shop"\n{extra}\n[checks]\ntimeout_s = 2\nwait_s = 10\n\n[deploy]\n'
            f"command = {json.dumps(command)}\n\n" + "\n".join(stages))

    def waiting(self, number: int, input_id: str) -> dict:
        """The input build #number waits at; fails at once if the build ends instead."""
        pending = self.jenkins.wait(lambda: self.jenkins.pending_input(
            number, None if OTHER_REVISION else input_id) or not self.jenkins.builds[number].building,
            240, f"build #{number} waiting at {input_id}")
        if pending is True:
            console = (self.root / f"jenkins/build-{number}.json.console").read_text()
            raise AssertionError(f"build #{number} ended instead of waiting at {input_id}:\n"
                                 + console[-3000:])
        return pending

    def approve(self, number: int, input_id: str, user: str = "alice") -> None:
        pending = self.waiting(number, input_id)
        answer = self.jenkins.post(f"{number}/input/{pending['id']}/proceedEmpty", user)
        assert answer.status_code == 200, answer.text

    def release(self, version: str, approve: bool = True, env: dict | None = None) -> Finished:
        build = self.pipeline.start(env=env, ACTION="release", VERSION=version)
        if approve:
            self.approve(build.number, "ProdGoLive")
        return build.wait()

    def act(self, action: str, stage: str, **params) -> Finished:
        build = self.pipeline.start(ACTION=action, STAGE=stage, **params)
        if stage == "prod":
            self.approve(build.number, "ProdAction")
        return build.wait()

    def served(self, stage: str) -> tuple[str | None, str]:
        from bluegreen.checks import http

        answer = http.get(self.varnishes[stage].http, "/version", 5)
        return answer.headers.get("x-bluegreen-color"), answer.body.strip()

    def archived_state(self, number: int, stage: str) -> dict:
        path = self.jenkins.artifacts / str(number) / "bluegreen-out" / stage / "state.json"
        return json.loads(path.read_text())

    def consoles(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.root.glob("jenkins/build-*.json.console"))


@contextlib.contextmanager
def open_ci(workdir: Path, monkeypatch, executors: int = 2):
    secret = local.write_secret(workdir / "secret")
    for key in ("JENKINS_URL", "JOB_NAME", "BUILD_NUMBER", "BLUEGREEN_SECRET_FILE"):
        monkeypatch.delenv(key, raising=False)
    varnishes: dict = {}
    site = type("S", (), {"run_dir": workdir / "apps", "varnishes": []})
    ci = None
    try:
        for name in ("test", "prod"):
            varnishes[name] = ports.varnish(workdir, secret, name)
            site.varnishes.append(varnishes[name])
        servers = {s: [ports.address() for _ in range(2)] for s in varnishes}
        with FakeJenkins(workdir / "jenkins", "shop", USERS, executors=executors) as jenkins:
            ci = Ci(workdir, jenkins, varnishes, servers, secret)
            try:
                yield ci
            finally:
                ci.pipeline.stop()
    finally:
        stop_site(site)
