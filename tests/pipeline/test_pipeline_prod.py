"""Prod through the shared Jenkinsfile: a compare that fails only in prod stops the release before
anyone is asked to approve it; a release that fails in front of prod's users after the approval is
rolled back by watch; a watch that cannot read its source fails the build and rolls nothing back
(Groovy harness, fake Jenkins controller, real varnishd and sample apps)."""

from __future__ import annotations

from tests.helpers import ports
from tests.helpers.local_watch import Traffic

WATCH = ('\n[watch]\nseconds = 4\ninterval_s = 1\nmax_error_rate = 0.05\nmin_requests = 10\n'
         'on_inconclusive = "pass"\nsource = "varnish"\nlog_command = ["varnishncsa", "-n", "{name}"]\n'
         "[watch.log_names]\n")


def abort_approval(ci, number: int) -> None:
    ci.waiting(number, "ProdGoLive")
    assert ci.jenkins.post(f"{number}/input/ProdGoLive/abort", "alice").status_code == 200


class TestProdCompare:
    """compare in prod runs before the approval: a difference there fails the build unasked."""

    def test_a_difference_only_prod_shows_stops_the_release_before_the_approval(self, ci):
        (ci.scm / "compare").mkdir()
        (ci.scm / "compare" / "requests.txt").write_text("GET /api/products/1\nGET /api/products/2\n")
        ci.write_config(extra='\n[compare]\nrequests = "compare/requests.txt"\n')
        assert ci.release("1.0.0").code == 0
        # 1.1.0 changes product 1 (price and stock): undeclared, so its compare fails at test
        changed = ci.release("1.1.0", approve=False)
        assert changed.result == "FAILURE" and changed.stages_run()[-1] == "test: compare"
        # test goes to 1.1.0 by hand-declared changes, prod's approval is aborted: prod stays 1.0.0
        (ci.scm / "compare" / "expected.toml").write_text(
            '[[change]]\npath = "/api/products/1"\nfield = "price"\n'
            '[[change]]\npath = "/api/products/1"\nfield = "stock"\n')
        ci.write_config(extra='\n[compare]\nrequests = "compare/requests.txt"\n'
                              'expected = "compare/expected.toml"\n')
        build = ci.pipeline.start(ACTION="release", VERSION="1.1.0")
        abort_approval(ci, build.number)
        assert build.wait().result == "ABORTED"
        assert ci.served("test") == ("green", "1.1.0") and ci.served("prod") == ("blue", "1.0.0")
        # 1.2.0 changes nothing against test's 1.1.0, but prod still serves 1.0.0
        ci.write_config(extra='\n[compare]\nrequests = "compare/requests.txt"\n')
        build = ci.pipeline.start(ACTION="release", VERSION="1.2.0")
        done = build.wait()
        assert done.result == "FAILURE", done.console[-3000:]
        assert done.stages_run()[-1] == "prod: compare"
        assert "test: switch" in done.stages_run()
        assert not done.events("input-answer") and not ci.jenkins.pending_input(build.number, None)
        assert "prod: approve" not in done.stages_run()
        reports = [e for e in done.events("junit") if e["pattern"].endswith("prod/junit-compare.xml")]
        assert reports and reports[0]["failed"] > 0
        assert ci.served("prod") == ("blue", "1.0.0") and ci.served("test") == ("blue", "1.2.0")


class TestProdWatch:
    """After the approval, prod's watch rolls a failing release back by itself."""

    def test_a_release_failing_in_prod_is_rolled_back_after_the_approval(self, ci):
        names = "".join(f'"{v.admin}" = "{v.workdir}"\n' for v in ci.varnishes.values())
        ci.write_config(extra=WATCH + names)
        assert ci.release("1.0.0").code == 0  # no traffic anywhere: inconclusive, which passes
        # traffic on prod only: test's watch is inconclusive and passes, prod's sees the failures
        with Traffic(ci.varnishes["prod"].http, rate=40, limit_s=600, limit=10**6):
            failed = ci.release("1.1.0-fail50")
        assert failed.result == "FAILURE", failed.console[-3000:]
        assert failed.stages_run()[-1] == "prod: watch"
        [answer] = failed.events("input-answer")
        assert answer["state"] == "proceed"
        assert ci.served("test") == ("green", "1.1.0-fail50")
        assert ci.served("prod") == ("blue", "1.0.0")
        last = ci.archived_state(failed.number, "prod")["history"][-1]
        assert (last["action"], last.get("reason")) == ("rollback", "watch")
        [report] = [e for e in failed.events("junit") if e["pattern"].endswith("prod/junit-watch.xml")]
        assert report["failed"] > 0
        assert "prod: LIVE blue 1.0.0" in failed.log["description"]


class TestWatchSourceDown:
    """A watch that cannot read its source fails the build (exit 3) and rolls nothing back."""

    def test_an_unreachable_prometheus(self, ci):
        port = ports.free_port()  # nothing listens there
        ci.write_config(extra=f'\n[watch]\nseconds = 2\ninterval_s = 1\nprometheus = "http://127.0.0.1:{port}"\n'
                              'timeout_s = 1\n')
        done = ci.release("1.0.0", approve=False)
        assert done.result == "FAILURE", done.console[-3000:]
        assert done.stages_run()[-1] == "test: watch"
        assert "exit 3 (a system it depends on failed" in done.console
        assert f"127.0.0.1:{port}" in done.console
        assert ci.served("test") == ("blue", "1.0.0")
        state = ci.archived_state(done.number, "test")
        assert state["live"] == "blue" and state["history"][-1]["action"] == "switch"
