"""Builds that overlap, and workspaces that Jenkins reuses, as in the first week of real use:
a release waits at the prod approval while the next one runs test, a rollback comes in between,
and every build finds what the previous one left in its workspace."""

from __future__ import annotations

import pytest

from tests.helpers.pipeline import open_ci


@pytest.fixture
def ci(workdir, monkeypatch):
    with open_ci(workdir, monkeypatch, executors=1) as c:  # one executor: nothing may hold it idle
        yield c


class TestOverlappingBuilds:
    """Build 3 runs test while build 2 waits for the prod approval, on the only executor."""

    def test_the_next_release_runs_while_one_waits_for_approval(self, ci):
        assert ci.release("1.0.0").code == 0
        second = ci.pipeline.start(ACTION="release", VERSION="1.1.0")
        ci.waiting(second.number, "ProdGoLive")
        assert ci.jenkins.holding(second.number) == {"locks": [], "executors": []}
        assert ci.served("test") == ("green", "1.1.0")

        third = ci.pipeline.start(ACTION="release", VERSION="1.2.0")
        ci.waiting(third.number, "ProdGoLive")  # passed test, and prepared prod, meanwhile
        assert ci.served("test") == ("blue", "1.2.0")
        assert any(path.endswith(f"/job/shop/{second.number}/artifact/bluegreen-out/test/state.json")
                   for _, path, _ in ci.jenkins.requests), "build 3 read running build 2's test state"

        ci.approve(second.number, "ProdGoLive")  # too late: build 3 deployed onto prod's passive color
        superseded = second.wait()
        assert superseded.result == "FAILURE"
        assert "not 1.1.0 that passed verify" in superseded.console
        assert ci.served("prod") == ("blue", "1.0.0")

        ci.approve(third.number, "ProdGoLive")
        done = third.wait()
        assert done.code == 0, done.console[-3000:]
        assert ci.served("prod") == ("green", "1.2.0")

    def test_a_rollback_of_test_does_not_wait_for_the_prod_lock(self, ci):
        assert ci.release("1.0.0").code == 0
        release = ci.pipeline.start(ACTION="release", VERSION="1.1.0")
        ci.waiting(release.number, "ProdGoLive")
        rollback = ci.pipeline.run(ACTION="rollback", STAGE="test", ROLLBACK_STAGE="test")
        assert rollback.code == 0, rollback.console[-3000:]
        assert [e["resource"] for e in rollback.events("lock")] == ["bluegreen-shop-test"]
        assert ci.served("test") == ("blue", "1.0.0")
        assert ci.jenkins.pending_input(release.number, "ProdGoLive"), "the release still waits"

    def test_no_build_cancels_another(self, ci):
        """A newer release does not cancel an older rollback waiting for approval, nor a rollback
        a release waiting for approval (the milestone step would: it cancels every older build
        that has not passed the milestone a newer one passes)."""
        assert ci.release("1.0.0").code == 0
        assert ci.release("1.1.0").code == 0
        rollback = ci.pipeline.start(ACTION="rollback", STAGE="prod", ROLLBACK_STAGE="prod")
        ci.waiting(rollback.number, "ProdAction")
        release = ci.pipeline.start(ACTION="release", VERSION="1.2.0")
        ci.waiting(release.number, "ProdGoLive")
        test_rollback = ci.pipeline.run(ACTION="rollback", STAGE="test", ROLLBACK_STAGE="test")
        assert test_rollback.code == 0, test_rollback.console[-3000:]
        for build in (rollback, release):
            assert ci.jenkins.builds[build.number].interrupted is None
            assert ci.jenkins.pending_input(build.number)
            assert ci.jenkins.post(f"{build.number}/input/"
                                   f"{ci.jenkins.pending_input(build.number)['id']}/abort", "alice").ok
            assert build.wait().result == "ABORTED"
        assert ci.served("prod") == ("green", "1.1.0")


class TestReusedWorkspace:
    """Each build starts from a clean output folder, archives and publishes only its own files."""

    def test_a_build_archives_only_what_it_wrote(self, ci):
        assert ci.release("1.0.0").code == 0
        failed = ci.release("2.0.0-broken", approve=False)  # stops in test: verify
        assert failed.result == "FAILURE"
        archived = failed.archived(ci.jenkins.root)
        assert not [p for p in archived if p.startswith("bluegreen-out/prod/")], archived
        assert "bluegreen-out/test/plan.json" in archived

    def test_a_verify_that_fails_before_its_report_publishes_nothing(self, ci, workdir):
        """Another run switches test between deploy and verify, so verify refuses before it writes
        junit-verify.xml; the report left by the previous build must not be published."""
        assert ci.release("1.0.0").code == 0
        jenkinsfile = workdir / "Jenkinsfile.verify"
        jenkinsfile.write_text("""
            pipeline {
                agent none
                stages {
                    stage('test') {
                        agent { label 'bluegreen' }
                        steps {
                            script {
                                blueGreen.passive(stage: 'test')
                                blueGreen.deploy(stage: 'test', version: params.VERSION)
                                input(id: 'Deployed', message: 'deployed')
                                blueGreen.verify(stage: 'test')
                            }
                        }
                    }
                }
            }""")
        build = ci.pipeline.start(jenkinsfile, VERSION="1.1.0")
        ci.waiting(build.number, "Deployed")
        with ci.varnishes["test"].connect() as admin:
            admin.vcl_use("boot")  # Varnish's own VCL: "another run switched"
        ci.approve(build.number, "Deployed")
        done = build.wait()
        assert done.result == "FAILURE" and "changed since 'passive' ran" in done.console
        [junit] = done.events("junit")
        assert junit["files"] == []
