"""One history (issue 20), against real varnishd and the sample app: generations, writers that
compare-and-swap, a rollback that makes live exactly what was live, retire fenced against a
rollback, watch rolling back only what it watched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from bluegreen.checks import http
from bluegreen.demo import local
from tests.helpers.paths import DEPLOY

FORBIDDEN = """{% extends "bluegreen.vcl.j2" %}
{% block recv_first %}
    if (req.url ~ "^/page") { return (synth(403, "Forbidden by the new VCL")); }
{% endblock %}
"""


def page(site, front: int = 0):
    return http.get(site.varnishes[front].http, "/page/x", 5).status


def with_template(site, text: str) -> None:
    (site.root / "site.vcl.j2").write_text(text)
    site.write_config(vcl='template = "site.vcl.j2"\n')


class TestGenerations:
    """Every record is one above the one it replaced; a writer that read an older one is refused."""

    def test_each_write_is_one_above(self, site):
        site.release("1.0.0")
        assert site.state()["generation"] == 1
        site.release("1.1.0")
        assert site.state()["generation"] == 2
        site.ok("rollback", "--stage", "test")
        assert site.state()["generation"] == 3
        site.ok("record", "--stage", "test")
        assert site.state()["generation"] == 3, "record archives the record as it is"

    def test_a_switch_planned_from_an_older_record_is_refused_before_vcl_use(self, site):
        site.release("1.0.0")
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        site.ok("adopt", "--stage", "test", "--reason", "someone recorded meanwhile")  # generation 2
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1 and "moved on since this run read it" in run.err, run.text
        assert "generation 1" in run.err and "is at 2" in run.err
        assert site.actives() == before and site.served() == ("blue", "1.0.0")

    def test_passive_check_refuses_a_moved_record_and_passes_a_plan_that_holds(self, site):
        site.release("1.0.0")
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        assert site.ok("passive", "--stage", "test", "--check").out.strip() == "green"
        plan = (site.out / "test" / "plan.json").read_text()
        site.ok("adopt", "--stage", "test", "--reason", "x")
        run = site.cli("passive", "--stage", "test", "--check")
        assert run.code == 1 and "moved on since this run planned" in run.err
        assert (site.out / "test" / "plan.json").read_text() == plan, "--check writes no plan"

    def test_a_rerun_of_a_switch_killed_after_its_write_keeps_the_record(self, site):
        site.release("1.0.0")
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"], ["switch"]):
            site.ok(*argv, "--stage", "test")
        written = site.state()
        site.ok("switch", "--stage", "test")
        assert site.state()["generation"] == written["generation"] == 2
        assert site.state()["history"] == written["history"]


class TestExactRollback:
    """A rollback makes live exactly the VCL each instance served before the switch."""

    def test_a_new_template_is_rolled_back_with_the_release(self, site):
        site.release("1.0.0")
        old_vcl = site.actives()[0]
        assert page(site) == 200
        with_template(site, FORBIDDEN)
        site.release("1.1.0")
        assert page(site) == 403, "the new VCL is live"
        site.ok("rollback", "--stage", "test")
        assert site.actives() == [old_vcl], "the VCL that was live, not one rendered anew"
        assert page(site) == 200 and site.served() == ("blue", "1.0.0")
        assert site.state()["colors"]["blue"]["vcl"] == old_vcl

    def test_per_instance(self, fleet_site):
        site = fleet_site
        site.release("1.0.0")
        blue = site.actives()[0]
        odd = blue[:-8] + "0" * 8  # the same blue VCL of ours under another name, on instance 2
        source = (site.out / "test" / "vcl" / f"{blue}.vcl").read_text()
        with site.varnishes[2].connect() as admin:
            admin.vcl_inline(odd, source)
            admin.vcl_use(odd)
        site.release("1.1.0")
        assert site.state()["colors"]["blue"]["served"] == {
            str(v.admin): n for v, n in zip(site.varnishes, [blue, blue, odd], strict=True)}
        site.ok("rollback", "--stage", "test")
        assert site.actives() == [blue, blue, odd]


class TestRetireAgainstRollback:
    """retire fences the color it stops: by the record, at Varnish, and before each stop."""

    @pytest.fixture
    def retiring(self, site):
        stop = [sys.executable, str(DEPLOY.parent / "stop.py"), "{host}", "{port}"]
        site.release("1.0.0")
        site.release("1.1.0")
        with site.config.open("a") as fh:
            fh.write(f"\n[retire]\nafter_s = 0\ncommand = {json.dumps(stop)}\n")
        return site

    def test_the_rollback_vcl_is_cold_after_retire_and_varnish_refuses_it(self, retiring):
        site = retiring
        blue = site.state()["colors"]["blue"]["vcl"]
        site.ok("retire", "--stage", "test", "--now")
        with site.varnish.connect() as admin:
            entry = next(e for e in admin.vcl_list() if e["name"] == blue)
            assert entry["state"] == "cold"
            assert not admin.call(f"vcl.use {blue}", check=False).ok, "a stale rollback cannot use it"
        assert site.served() == ("green", "1.1.0")

    def test_rollback_waits_for_retire_holding_the_lock_then_refuses(self, retiring):
        """A rollback that read the record while blue was hot waits for the stage's lock (held
        by retire while it fences and stops blue), then finds the record moved on: refused."""
        site = retiring
        from bluegreen.records.files import StageFiles

        files = StageFiles(site.out, "test", "shop")
        outcome = {}
        with files.lock():  # retire's lock, held while it stops servers
            thread = threading.Thread(target=lambda: outcome.update(
                run=site.cli("rollback", "--stage", "test")))
            thread.start()
            thread.join(1.0)
            assert thread.is_alive(), "the rollback waits for the lock"
            state = site.state()
            state["colors"]["blue"]["readiness"] = "retired"
            state["generation"] += 1
            (site.out / "test" / "state.json").write_text(json.dumps(state))
        thread.join(60)
        assert outcome["run"].code == 1 and "moved on since" in outcome["run"].err
        assert site.served() == ("green", "1.1.0")


class TestReadiness:
    """adopt and record leave readiness as Varnish has it."""

    def test_adopt_after_a_hand_switch(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        blue = site.state()["colors"]["blue"]["vcl"]
        with site.varnish.connect() as admin:
            admin.vcl_use(blue)
        site.ok("adopt", "--stage", "test", "--reason", "switched by hand")
        colors = site.state()["colors"]
        assert (colors["blue"]["readiness"], colors["green"]["readiness"]) == ("live", "hot")
        status = site.cli("status", "--stage", "test")
        assert "readiness: blue live, green hot" in status.out, status.out


class TestRedeployBans:
    """A rollback by redeploy never serves what the color cached for another release (inv. 6)."""

    def test_a_preview_cached_for_an_abandoned_release_is_gone(self, site):
        stop = [sys.executable, str(DEPLOY.parent / "stop.py"), "{host}", "{port}"]
        site.release("1.0.0")
        site.release("2.0.0")
        with site.config.open("a") as fh:
            fh.write(f"\n[retire]\nafter_s = 0\ncommand = {json.dumps(stop)}\n")
        site.ok("retire", "--stage", "test", "--now")
        # blue is stopped; someone starts 3.0 on it by hand and previews a page: cached as blue
        site.deploy_by_hand(site.blue[0], "3.0.0", "blue")
        preview = {"X-Bluegreen-Color": "blue"}

        def cached_preview():  # once Varnish's probes see blue healthy again
            answer = http.get(site.varnish.http, "/page/cached", 5, preview)
            return "3.0.0" in answer.body, answer.body[:80]

        assert http.Poll(20).until(cached_preview)[0]
        site.ok("rollback", "--stage", "test")
        assert site.served() == ("blue", "1.0.0")
        assert "release 1.0.0" in http.get(site.varnish.http, "/page/cached", 5).body


class TestWatchRollsBackOnlyWhatItWatched:
    """watch's rollback is compare-and-swap on what Varnish served while it watched."""

    @pytest.fixture
    def watching(self, site):
        from tests.helpers.watching import configure, go_live

        configure(site, "varnish", seconds=60, interval_s=1, min_requests=5)
        go_live(site, "2.0-fail100")
        proc = subprocess.Popen([sys.executable, "-m", "bluegreen", "-c", str(site.config), "--out",
                                 str(site.out), "--json", "watch", "--stage", "test"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        local.wait_for(lambda: _started(site), 30, "watch to start following the log")
        yield site, proc
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()

    def _fail_green(self, site, proc) -> tuple[int, str, str]:
        """Failing responses from green (previews) until watch ends."""
        def ended():
            for n in range(10):
                http.get(site.varnish.http, f"/page/{n}", 5, {"X-Bluegreen-Color": "green"})
            return proc.poll() is not None, ""
        assert http.Poll(60).until(ended)[0], "watch judged and ended"
        out, err = proc.communicate()
        return proc.returncode, out, err

    def test_a_release_gone_live_meanwhile_is_not_undone(self, watching):
        site, proc = watching
        site.release("3.0")
        code, out, err = self._fail_green(site, proc)
        assert code == 1 and "no longer serves what was watched" in err, err
        assert site.served() == ("blue", "3.0"), "3.0 stays live"
        assert site.state()["history"][-1]["release"] == "3.0"
        assert json.loads(out)["rollback"]["done"] is False

    def test_a_manual_rollback_meanwhile_is_not_recorded_as_watchs(self, watching):
        site, proc = watching
        site.ok("rollback", "--stage", "test")
        code, out, err = self._fail_green(site, proc)
        assert code == 1 and json.loads(out)["rollback"]["done"] is False
        last = site.state()["history"][-1]
        assert (last["action"], last.get("reason")) == ("rollback", "manual")
        assert site.served() == ("blue", "1.0")


def _started(site) -> bool:
    """watch follows the Varnish log once its varnishncsa runs."""
    found = subprocess.run(["pgrep", "-f", f"varnishncsa -n {site.varnish.workdir}"], capture_output=True)
    return found.returncode == 0
