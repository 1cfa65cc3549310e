"""What a person does from Jenkins in an incident (adopt, reconcile, retire), what each step is
given (credentials, settings), which builds may release, and which bluegreen the library runs."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.paths import DEPLOY
from tests.helpers.pipeline import TOKEN


def green_vcl(ci, stage: str) -> str:
    with ci.varnishes[stage].connect() as admin:
        return next(v["name"] for v in admin.vcl_list() if v["name"].startswith(f"shop_{stage}_green_"))


def switch_by_hand(ci, stage: str, version: str) -> None:
    """A hotfix made by hand: a release onto green, and Varnish switched to it."""
    server = ci.servers[stage][1]
    subprocess.run([sys.executable, str(DEPLOY), server.host, str(server.port), version, "green"],
                   check=True, capture_output=True, env={"SAMPLEAPP_RUN_DIR": str(ci.root / "apps")})
    with ci.varnishes[stage].connect() as admin:
        admin.vcl_use(green_vcl(ci, stage))


class TestDrift:
    """Drift is fixed from Jenkins, and what the fix records is where the next build reads it."""

    def test_adopt_after_a_hotfix_by_hand_then_release(self, ci):
        assert ci.release("1.0.0").code == 0
        switch_by_hand(ci, "test", "1.0.1")
        refused = ci.release("1.1.0", approve=False)
        assert refused.result == "FAILURE" and "green is live on Varnish but" in refused.console

        adopted = ci.act("adopt", "test", REASON="hotfix 1.0.1 by hand")
        assert adopted.code == 0, adopted.console[-3000:]
        assert adopted.stages_run() == ["check", "action", "adopt"]
        state = ci.archived_state(adopted.number, "test")
        assert state["live"] == "green" and state["history"][-1]["reason"] == "hotfix 1.0.1 by hand"
        assert any(e["present"] for e in adopted.events("publishHTML"))

        after = ci.release("1.1.0")
        assert after.code == 0, after.console[-3000:]
        assert ci.served("test") == ("blue", "1.1.0")

    def test_adopt_needs_a_reason_before_anything_runs(self, ci):
        build = ci.pipeline.run(ACTION="adopt", STAGE="test", REASON=" ")
        assert build.result == "FAILURE" and "reason is required for adopt" in build.console
        assert not build.events("lock") and not build.events("node")

    def test_reconcile_puts_the_recorded_color_back(self, ci):
        assert ci.release("1.0.0").code == 0
        with ci.varnishes["test"].connect() as admin:
            admin.vcl_use(green_vcl(ci, "test"))  # a restart, or a person, changed what is live
        assert ci.served("test")[0] == "green"
        fixed = ci.act("reconcile", "test")
        assert fixed.code == 0, fixed.console[-3000:]
        assert ci.served("test") == ("blue", "1.0.0")

    def test_reconcile_after_a_varnish_restart_takes_the_vcl_from_the_archive(self, ci):
        """A restarted Varnish has lost every VCL; the workspace is clean and the configuration
        changed since, so the recorded VCL comes from the release build's artifacts."""
        assert ci.release("1.0.0").code == 0
        v = ci.varnishes["test"]
        v.stop()
        v.start()
        assert (v.admin, v.http) == (ci.varnishes["test"].admin, ci.varnishes["test"].http)
        ci.write_config(extra="\n[vcl.backend]\nconnect_timeout = 2.5\n")
        fixed = ci.act("reconcile", "test")
        assert fixed.code == 0, fixed.console[-3000:]
        assert ci.served("test") == ("blue", "1.0.0")
        assert any("/job/shop/1/artifact/bluegreen-out/test/vcl/shop_test_blue_" in path
                   for _, path, _ in ci.jenkins.requests)

    def test_prod_actions_wait_for_an_approver_holding_nothing(self, ci):
        assert ci.release("1.0.0").code == 0
        build = ci.pipeline.start(ACTION="reconcile", STAGE="prod")
        ci.waiting(build.number, "ProdAction")
        assert ci.jenkins.holding(build.number) == {"locks": [], "executors": []}
        assert ci.jenkins.post(f"{build.number}/input/ProdAction/proceedEmpty", "mallory").status_code == 400
        assert ci.jenkins.post(f"{build.number}/input/ProdAction/abort", "alice").ok
        assert build.wait().result == "ABORTED"

    def test_retire_after_the_window_or_now(self, ci):
        stop = [sys.executable, "-m", "bluegreen.sampleapp.stop", "{host}", "{port}", "{color}"]
        ci.write_config(extra=f"\n[retire]\nafter_s = 3600\ncommand = {json.dumps(stop)}\n")
        assert ci.release("1.0.0").code == 0
        assert ci.release("1.1.0").code == 0
        early = ci.act("retire", "test")
        assert early.result == "FAILURE" and "rollback window" in early.console
        retired = ci.act("retire", "test", RETIRE_NOW=True)
        assert retired.code == 0, retired.console[-3000:]
        assert retired.stages_run() == ["check", "action", "retire"]
        assert ci.archived_state(retired.number, "test")["colors"]["blue"]["readiness"] == "retired"
        assert any(e["present"] for e in retired.events("publishHTML"))


class TestWhatEachStepGets:
    """Secrets only where a step needs them; settings from the Jenkinsfile's environment."""

    def test_the_jenkins_token_only_for_steps_that_read_state(self, ci):
        seen = ci.root / "deploy-env.txt"
        wrapper = ci.root / "deploy-wrapper.sh"
        wrapper.write_text(f'#!/bin/sh\nenv | cut -d= -f1 >> "{seen}"\nexec "$@"\n')
        wrapper.chmod(0o755)
        ci.write_config(deploy=[str(wrapper), sys.executable, str(DEPLOY), "{host}", "{port}", "{version}",
                                "{color}"])
        build = ci.release("1.0.0")
        assert build.code == 0, build.console[-3000:]
        given = {}
        for e in build.events("sh"):
            if "$BG_STEP" in e["script"]:
                given.setdefault(e["stage"], e["secrets"])
        assert given["test: passive"] == ["BLUEGREEN_SECRET_FILE", "JENKINS_API_TOKEN", "JENKINS_USER"]
        for stage in ("test: deploy", "test: verify", "test: switch", "prod: switch"):
            assert given[stage] == ["BLUEGREEN_SECRET_FILE"], stage
        assert given["test: record"] == ["BLUEGREEN_SECRET_FILE", "JENKINS_API_TOKEN", "JENKINS_USER"]
        names = set(seen.read_text().split())
        assert not names & {"JENKINS_API_TOKEN", "JENKINS_USER", "BLUEGREEN_SECRET_FILE"}, names
        assert TOKEN not in ci.consoles()

    def test_the_jenkinsfile_environment_is_what_the_steps_use(self, ci, workdir):
        (ci.scm / "deploy").mkdir()
        (ci.scm / "bluegreen.toml").rename(ci.scm / "deploy" / "bg.toml")
        jenkinsfile = workdir / "Jenkinsfile.env"
        jenkinsfile.write_text("""
            pipeline {
                agent none
                environment {
                    BLUEGREEN_CONFIG = 'deploy/bg.toml'
                    BLUEGREEN_OUT = 'out-from-env'
                }
                stages {
                    stage('test') {
                        agent { label 'bluegreen' }
                        steps { script { echo "passive=${blueGreen.passive(stage: 'test')}" } }
                    }
                }
            }""")
        build = ci.pipeline.run(jenkinsfile)
        assert build.code == 0, build.console[-3000:]
        assert "passive=blue" in build.console
        assert "out-from-env/test/plan.json" in build.archived(ci.jenkins.root)


class TestBranches:
    """In a multibranch project only the release branch drives Varnish."""

    def test_another_branch_is_refused_before_anything(self, ci):
        build = ci.pipeline.run(env={"BRANCH_NAME": "feature/x"}, ACTION="release", VERSION="1.0.0")
        assert build.result == "FAILURE"
        assert "this is a build of branch feature/x; only main releases" in build.console
        assert build.stages_run() == ["check"] and not build.events("lock")
        assert ci.served("test")[0] is None

    def test_the_main_branch_of_a_multibranch_job_releases(self, ci):
        ci.jenkins.job = "apps/shop/main"
        first = ci.release("1.0.0", env={"BRANCH_NAME": "main"})
        second = ci.release("1.1.0", env={"BRANCH_NAME": "main"})
        assert (first.code, second.code) == (0, 0), second.console[-3000:]
        assert any(path == "/job/apps/job/shop/job/main/1/artifact/bluegreen-out/prod/state.json"
                   for _, path, _ in ci.jenkins.requests)
        assert ci.served("prod") == ("green", "1.1.0")


class TestAgentVersion:
    """The library runs the bluegreen it was written for, or fails the first stage saying so."""

    def fake_bluegreen(self, ci, version: str) -> None:
        real = ci.root / "agent-bin" / "bluegreen"
        real.rename(ci.root / "agent-bin" / "bluegreen-real")
        real.write_text(f'#!/bin/sh\n[ "$1" = --version ] && {{ echo "bluegreen {version}"; exit 0; }}\n'
                        f'exec "{ci.root}/agent-bin/bluegreen-real" "$@"\n')
        real.chmod(0o755)

    def test_another_minor_fails_the_first_stage_naming_both(self, ci):
        self.fake_bluegreen(ci, "0.1.4")
        build = ci.pipeline.run(ACTION="release", VERSION="1.0.0")
        assert build.result == "FAILURE"
        [failed] = [e for e in build.events("stage-failed") if e["name"] == "test: passive"]
        assert "is bluegreen 0.1.4, this library is written for 0.2.0" in failed["message"]
        assert "pip install 'bluegreen==0.2.0'" in failed["message"]
        assert "@Library('bluegreen@v0.1.4')" in failed["message"]
        [only] = build.events("sh")
        assert only["script"] == '"$BG_COMMAND" --version > .bluegreen-version 2>&1'
        assert ci.served("test")[0] is None

    def test_another_patch_passes(self, ci):
        self.fake_bluegreen(ci, "0.2.9")
        build = ci.release("1.0.0")
        assert build.code == 0, build.console[-3000:]
        assert sum(1 for e in build.events("sh") if ".bluegreen-version" in e["script"]) == 1  # per agent


class TestWarnings:
    """A step's WARNING lines mark the build unstable, where a console line would go unread."""

    def test_a_lost_record_makes_the_build_unstable(self, ci):
        assert ci.release("1.0.0").code == 0
        for _ in range(30):  # the Jenkinsfile's walk: 30 builds that archived nothing since
            ci.jenkins.finish(ci.jenkins.new_build({"ACTION": "release", "VERSION": ""}), "FAILURE")
        build = ci.release("1.1.0")
        assert build.result == "UNSTABLE", build.console[-3000:]
        [first, *_] = build.events("unstable")
        assert first["message"].startswith("bluegreen passive --stage test: none of the last 30 builds")
        assert "the rollback target of test is lost" in first["message"]
        assert ci.served("test") == ("green", "1.1.0") and ci.served("prod") == ("green", "1.1.0")
        assert ci.release("1.2.0").result == "SUCCESS"  # the last build archived the record again
