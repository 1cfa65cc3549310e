"""watch: what it does when it cannot watch, cannot read its source, or cannot roll back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from bluegreen.demo import local
from tests.helpers.local_watch import Traffic
from tests.helpers.watching import configure, go_live, rolled_back_by_watch, watch

FAKE_NCSA = '''
import sys, time
lines, problem, code = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(lines):
    print("500:green:shop/test" if n % 2 else "200:green:shop/test", flush=True)
    print("500:green:other/test", flush=True)  # another app on the same Varnish: not counted
if problem != "-":
    time.sleep(0.2)
    print(problem, file=sys.stderr, flush=True)
if code >= 0:
    sys.exit(code)
time.sleep(60)
'''


def fake_ncsa(site, lines: int, problem: str = "-", code: int = -1) -> str:
    """A stand-in for varnishncsa (a real one cannot be made to overrun on cue)."""
    path = site.root / "fake_ncsa.py"
    path.write_text(FAKE_NCSA)
    return json.dumps([sys.executable, str(path), str(lines), problem, str(code)])


class TestNotWatching:
    """Without [watch], with nothing live, or with drift, nothing is watched."""

    def test_not_configured_is_skipped(self, site):
        run = site.cli("--json", "watch", "--stage", "test")
        assert run.code == 0 and "not configured, skipped" in run.err
        assert json.loads(run.out) == {"stage": "test", "configured": False}

    def test_nothing_live(self, site):
        configure(site, "varnish")
        run = watch(site)
        assert run.code == 1 and "nothing is recorded live for stage test" in run.err

    def test_drift_refuses(self, site):
        configure(site, "varnish")
        go_live(site, "2.0")
        state = site.state()
        state["live"], state["previous"] = "blue", "green"
        (site.out / "test" / "state.json").write_text(json.dumps(state))
        run = watch(site)
        assert run.code == 1 and "Varnish serves green but the record says blue" in run.err
        assert "watch" not in site.state()


class TestSourceFails:
    """A source that cannot be read: exit 3, no rollback, the partial verdict recorded."""

    def test_prometheus_unreachable(self, site):
        configure(site, "prometheus", None)  # nothing listens on port 9
        go_live(site, "2.0-fail20")
        before = site.actives()
        run = watch(site)
        assert run.code == 3 and "cannot reach Prometheus at http://127.0.0.1:9" in run.err
        assert "nothing was rolled back" in run.err
        assert site.actives() == before and site.state()["live"] == "green"
        assert site.state()["watch"]["verdict"] == "error" and site.state()["watch"]["exit"] == 3
        data = json.loads(run.out)  # --json: what it found, with the error
        assert data["ok"] is False and data["exit"] == 3 and "cannot reach" in data["error"]

    def test_prometheus_unreachable_rolls_back_when_configured(self, site):
        configure(site, "prometheus", None, on_source_error="rollback")
        go_live(site, "2.0")
        run = watch(site)
        assert run.code == 3 and "cannot reach Prometheus" in run.err
        assert "rolled back to blue (watch.on_source_error)" in run.err
        assert site.served() == ("blue", "1.0") and site.state()["live"] == "blue"
        assert site.state()["history"][-1]["reason"] == "watch"

    def test_prometheus_rejects_a_query(self, site, prometheus):
        configure(site, "prometheus", prometheus, errors_query="sum(rate(")
        go_live(site, "2.0")
        run = watch(site)
        assert run.code == 2 and "watch.errors_query: Prometheus rejected 'sum(rate('" in run.err

    def test_varnishncsa_cannot_open_the_log(self, site):
        configure(site, "varnish")
        site.config.write_text(site.config.read_text().replace(
            '"-n", "{name}"', '"-n", "{name}-missing", "-t", "1"'))
        go_live(site, "2.0")
        run = watch(site)
        assert run.code == 3 and "cannot read Varnish's log on" in run.err
        assert "Could not get hold of varnishd" in run.err and site.state()["live"] == "green"


class TestIncompleteLog:
    """Where the log is not read whole, the interval is inconclusive and says why."""

    def test_overrun(self, site):
        configure(site, "varnish", seconds=2, on_inconclusive="fail")
        site.config.write_text(site.config.read_text().replace(
            'log_command = ["varnishncsa", "-n", "{name}"]',
            f"log_command = {fake_ncsa(site, 40, 'Log overrun')}"))
        go_live(site, "2.0")
        run = watch(site)
        data = json.loads(run.out)
        assert run.code == 1 and data["verdict"] == "inconclusive", run.err
        first = data["intervals"][0]
        assert first["verdict"] == "inconclusive" and first["requests"] == 40
        assert first["why"] == "log not read whole: varnishncsa on " + str(site.varnish.admin) + \
            ": Log overrun"
        assert site.state()["live"] == "green"

    def test_reader_died(self, site):
        configure(site, "varnish", seconds=2)
        site.config.write_text(site.config.read_text().replace(
            'log_command = ["varnishncsa", "-n", "{name}"]',
            f"log_command = {fake_ncsa(site, 4, '-', 1)}"))
        go_live(site, "2.0")
        run = watch(site)
        first = json.loads(run.out)["intervals"][0]
        assert first["verdict"] == "inconclusive" and "exited 1: started again" in first["why"]


class TestRollbackRefused:
    """A failing verdict whose rollback is refused still records the verdict and exits 1."""

    def test_old_color_unhealthy(self, site):
        configure(site, "varnish")
        go_live(site, "2.0-fail20")
        site.deploy_by_hand(site.blue[0], "1.0-broken", "blue")  # health 500
        with Traffic(site.varnish.http, rate=60):
            run = watch(site)
        assert run.code == 1 and "cannot roll back test to blue" in run.err, run.err
        recorded = site.state()["watch"]
        assert recorded["verdict"] == "fail" and recorded["rollback"]["done"] is False
        assert "the rollback failed" in recorded["why"] and site.state()["live"] == "green"
        assert json.loads(run.out)["intervals"][-1]["verdict"] == "fail"


class TestFleet:
    """Every instance's log is read: responses through any front count."""

    @pytest.fixture
    def three(self, fleet_site):
        return fleet_site

    def test_three_instances(self, three):
        configure(three, "varnish")
        go_live(three, "2.0-fail20")
        fronts = [Traffic(v.http, rate=15) for v in three.varnishes]
        for t in fronts:
            t.__enter__()
        try:
            run = watch(three)
        finally:
            for t in fronts:
                t.stop()
        assert run.code == 1, run.text
        assert rolled_back_by_watch(three) and "on 3 instance(s)" in run.err

    def test_one_log_for_many_instances_is_refused(self, three):
        configure(three, "varnish")
        three.config.write_text(three.config.read_text().replace(
            'log_command = ["varnishncsa", "-n", "{name}"]', 'log_command = ["varnishncsa"]'))
        go_live(three, "2.0")
        run = watch(three)
        assert run.code == 2 and "watch.log_command: reads the same log for" in run.err



def queries_answered(prom) -> float:
    """How many /api/v1/query requests Prometheus has answered (from its own metrics)."""
    from bluegreen.checks import http

    body = http.get(prom.address, "/metrics", 2).body
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith("prometheus_http_requests_total{") and '"/api/v1/query"' in line)


class TestSourceLostMidWatch:
    """Prometheus going away after the first interval: exit 3, the intervals so far recorded."""

    def test_exit_3_and_partial_record(self, site, prometheus):
        configure(site, "prometheus", prometheus, seconds=8)
        go_live(site, "2.0", prometheus)
        stopper = threading.Thread(target=lambda: (
            local.wait_for(lambda: queries_answered(prometheus) >= 4, 30, "the first interval's queries"),
            prometheus.stop()), daemon=True)
        with Traffic(site.varnish.http, rate=30):
            stopper.start()
            run = watch(site)
            stopper.join(30)
        assert run.code == 3 and "cannot reach Prometheus" in run.err, run.err
        recorded = site.state()["watch"]
        assert recorded["verdict"] == "error" and 1 <= len(recorded["intervals"]) < 4
        assert site.state()["live"] == "green"


class TestKilled:
    """A watch killed halfway leaves no reader behind, and a rerun watches again and converges."""

    def test_sigterm_then_rerun(self, site):
        configure(site, "varnish", seconds=30)
        go_live(site, "2.0")
        proc = subprocess.Popen([sys.executable, "-m", "bluegreen", "-c", str(site.config), "--out",
                                 str(site.out), "watch", "--stage", "test"],
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            for text in proc.stderr:
                if "[1/30]" in text:
                    break
            readers = subprocess.run(["pgrep", "-f", f"varnishncsa -n {site.varnish.workdir}"],
                                     capture_output=True, text=True).stdout.split()
            assert readers, "varnishncsa should be running during the watch"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 130
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.stderr.close()
        local.wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in readers), 10,
                       "varnishncsa to be gone")
        assert "watch" not in site.state()
        configure(site, "varnish", seconds=1)
        with Traffic(site.varnish.http, rate=30):
            again = watch(site)
        assert again.code == 0 and site.state()["watch"]["verdict"] == "pass", again.err
