"""The shared Jenkinsfile and vars/ run by the Groovy harness against real varnishd instances and
sample apps, with a fake Jenkins controller (tests/helpers/fake_jenkins.py) that serves the REST API,
queues locks and executors, and holds approvals until a person answers them."""

from __future__ import annotations

from tests.helpers.local_watch import Traffic
from tests.helpers.pipeline import TOKEN


class TestRelease:
    """Release, release again onto the other color, roll back prod: as Jenkins runs them."""

    def test_release_release_rollback(self, ci):
        first = ci.release("1.0.0")
        assert first.code == 0, first.console[-3000:]
        assert first.stages_run() == [
            "check", "test", "test: passive", "test: deploy", "test: verify", "test: compare",
            "test: switch", "test: record", "test: watch", "prod: prepare", "prod: passive",
            "prod: deploy", "prod: verify", "prod: compare", "prod: approve", "prod: go live",
            "prod: switch", "prod: record", "prod: watch"]
        assert [e["resource"] for e in first.events("lock")] == [
            "bluegreen-shop-test", "bluegreen-shop-prod", "bluegreen-shop-prod"]
        [answer] = first.events("input-answer")
        assert (answer["id"], answer["state"], answer["by"]) == ("ProdGoLive", "proceed", "alice")
        assert any(e["files"] for e in first.events("junit"))
        assert any(e["present"] for e in first.events("publishHTML"))
        assert ci.served("test") == ("blue", "1.0.0")
        assert ci.served("prod") == ("blue", "1.0.0")
        assert [line.split(" (")[0] for line in first.log["description"].splitlines()] == [
            "test: LIVE blue 1.0.0", "prod: LIVE blue 1.0.0"]
        assert ci.archived_state(1, "prod")["build"]["number"] == 1

        second = ci.release("1.1.0")
        assert second.code == 0, second.console[-3000:]
        assert "passive is green" in second.console
        assert ci.served("test") == ("green", "1.1.0")
        assert ci.served("prod") == ("green", "1.1.0")
        assert any(path.endswith("/job/shop/1/artifact/bluegreen-out/prod/state.json")
                   for _, path, _ in ci.jenkins.requests), "build 2 read build 1's archived state"
        assert "prod: LIVE green 1.1.0" in second.log["description"]
        assert "rollback to blue 1.0.0 ready" in second.log["description"]

        third = ci.act("rollback", "prod")
        assert third.code == 0, third.console[-3000:]
        assert third.stages_run() == ["check", "approve", "action", "rollback"]
        assert [e["resource"] for e in third.events("lock")] == ["bluegreen-shop-prod"]
        assert ci.served("prod") == ("blue", "1.0.0")
        assert ci.served("test") == ("green", "1.1.0")
        state = ci.archived_state(3, "prod")
        assert state["live"] == "blue" and state["history"][-1]["action"] == "rollback"
        consoles = ci.consoles()
        assert consoles.count("[Pipeline] stage") > 30
        assert TOKEN not in consoles and ci.secret.read_text().strip() not in consoles

    def test_failed_verify_fails_the_build_publishes_its_report_and_changes_nothing(self, ci):
        assert ci.release("1.0.0").code == 0
        failed = ci.release("2.0.0-broken", approve=False)
        assert failed.code == 1 and failed.result == "FAILURE"
        assert failed.stages_run()[-1] == "test: verify"
        assert "exit 1 (refused, or a check failed" in failed.console
        [junit] = failed.events("junit")
        assert junit["files"] == ["bluegreen-out/test/junit-verify.xml"] and junit["failed"] > 0
        assert "bluegreen-out/test/plan.json" in failed.archived(ci.jenkins.root)
        assert ci.served("test") == ("blue", "1.0.0")

    def test_release_without_version_stops_before_any_lock_or_agent(self, ci):
        build = ci.pipeline.run(ACTION="release", VERSION="")
        assert build.code == 1
        assert "version is required for release" in build.console
        assert build.stages_run() == ["check"]
        assert not build.events("lock") and not build.events("node")
        assert ci.served("test")[0] is None


class TestCompare:
    """compare runs after verify: its report is published, and a difference stops the release."""

    def configure(self, ci, expected: str | None = None) -> None:
        (ci.scm / "compare").mkdir(exist_ok=True)
        (ci.scm / "compare" / "requests.txt").write_text("GET /health\nGET /version\n")
        extra = '\n[compare]\nrequests = "compare/requests.txt"\n'
        if expected:
            (ci.scm / "compare" / "expected.toml").write_text(expected)
            extra += 'expected = "compare/expected.toml"\n'
        ci.write_config(extra=extra)

    def test_an_unexpected_difference_stops_the_release_before_the_switch(self, ci):
        self.configure(ci)
        assert ci.release("1.0.0").code == 0  # the first release: nothing live to compare with
        changed = ci.release("1.1.0", approve=False)
        assert changed.result == "FAILURE" and changed.stages_run()[-1] == "test: compare"
        [report] = [e for e in changed.events("junit") if "compare" in e["pattern"]]
        assert report["files"] == ["bluegreen-out/test/junit-compare.xml"] and report["failed"] > 0
        assert ci.served("test") == ("blue", "1.0.0")

        self.configure(ci, expected='[[change]]\npath = "/version"\nfield = "body"\n')
        expected = ci.release("1.1.0")
        assert expected.code == 0, expected.console[-3000:]
        [report] = [e for e in expected.events("junit")
                    if e["pattern"] == "bluegreen-out/test/junit-compare.xml"]
        assert report["files"] and report["failed"] == 0
        assert ci.served("test") == ("green", "1.1.0")


class TestWarmup:
    """With [warmup], each switch warms the passive color's cache; NO_WARMUP skips it."""

    def test_warmed_then_skipped(self, ci):
        (ci.scm / "warm.txt").write_text("GET /page/a\nGET /page/b\n")
        ci.write_config(extra='\n[warmup]\nrequests = "warm.txt"\n')
        assert ci.release("1.0.0").code == 0  # the first release has nothing to warm through
        warmed = ci.release("1.1.0")
        assert warmed.code == 0, warmed.console[-3000:]
        for stage in ("test", "prod"):
            assert f"warm-up {stage}: warmed 2 of 2 (2 URL(s) on 1 instance(s)) for green" in warmed.console
        build = ci.pipeline.start(ACTION="release", VERSION="1.2.0", NO_WARMUP=True)
        ci.approve(build.number, "ProdGoLive")
        skipped = build.wait()
        assert skipped.code == 0, skipped.console[-3000:]
        assert skipped.console.count("skipped (--no-warmup)") == 2
        assert ci.served("test") == ("blue", "1.2.0") and ci.served("prod") == ("blue", "1.2.0")


class TestWatch:
    """watch runs after record: a release failing in front of users is rolled back by it, and the
    build says why (its JUnit report and the stage report are published although it failed)."""

    def test_a_failing_release_is_rolled_back_and_the_reports_are_published(self, ci):
        names = "".join(f'"{v.admin}" = "{v.workdir}"\n' for v in ci.varnishes.values())
        ci.write_config(extra='\n[watch]\nseconds = 4\ninterval_s = 1\nmax_error_rate = 0.05\n'
                              'min_requests = 10\non_inconclusive = "pass"\nsource = "varnish"\n'
                              'log_command = ["varnishncsa", "-n", "{name}"]\n'
                              f"[watch.log_names]\n{names}")
        assert ci.release("1.0.0").code == 0  # no traffic: inconclusive, which passes
        with Traffic(ci.varnishes["test"].http, rate=40, limit_s=600, limit=10**6):  # uncached pages
            failed = ci.release("1.1.0-fail50", approve=False)  # half its pages answer 500
        assert failed.result == "FAILURE" and failed.stages_run()[-1] == "test: watch"
        [report] = [e for e in failed.events("junit") if e["pattern"].endswith("junit-watch.xml")]
        assert report["files"] == ["bluegreen-out/test/junit-watch.xml"] and report["failed"] > 0
        assert any(e["present"] and e["name"] == "bluegreen test" for e in failed.events("publishHTML"))
        assert ci.served("test") == ("blue", "1.0.0")
        last = ci.archived_state(failed.number, "test")["history"][-1]
        assert (last["action"], last.get("reason")) == ("rollback", "watch")


class TestApproval:
    """Prod goes live only when an approver says so; the approval holds no agent and no lock."""

    def test_only_an_approver_can_approve(self, ci):
        build = ci.pipeline.start(ACTION="release", VERSION="1.0.0")
        ci.waiting(build.number, "ProdGoLive")
        assert ci.jenkins.holding(build.number) == {"locks": [], "executors": []}
        refused = ci.jenkins.post(f"{build.number}/input/ProdGoLive/proceedEmpty", "mallory")
        assert refused.status_code == 400 and "You need to be release-managers" in refused.text
        assert ci.jenkins.pending_input(build.number, "ProdGoLive")
        ci.approve(build.number, "ProdGoLive", "alice")
        done = build.wait()
        assert done.code == 0, done.console[-3000:]
        assert ci.served("prod") == ("blue", "1.0.0")

    def test_aborted_approval_changes_nothing_in_prod(self, ci):
        build = ci.pipeline.start(ACTION="release", VERSION="1.0.0")
        ci.waiting(build.number, "ProdGoLive")
        assert ci.jenkins.post(f"{build.number}/input/ProdGoLive/abort", "alice").status_code == 200
        done = build.wait()
        assert done.result == "ABORTED"
        assert "prod: switch" not in done.stages_run()
        assert ci.served("prod")[0] is None and ci.served("test") == ("blue", "1.0.0")

    def test_unanswered_approval_times_out(self, ci):
        ci.pipeline.time_scale = 1.2 / 3600  # the Jenkinsfile's one hour lasts 1.2 s
        done = ci.pipeline.run(ACTION="release", VERSION="1.0.0")
        assert done.result == "ABORTED" and "Timeout has been exceeded" in done.console
        assert ci.served("prod")[0] is None
