"""A bad day: half-finished switches, lost races, malformed records, restarts.

Real varnishd instances and sample apps; a fake admin or a wrapped socket only where a real
Varnish cannot show the case (silence, another run's command landing in between). Slow and
hostile admin ports alone: tests/unit/test_admin.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time

import pytest

from bluegreen.errors import Refused
from bluegreen.model import Address
from bluegreen.varnish.fleet import Fleet, HalfSwitched
from tests.helpers.fakes import FakeAdmin
from tests.helpers.paths import DEPLOY
from tests.helpers.stages import plan_of, stage_next


def ready_to_switch(site, version="1.1.0"):
    stage_next(site, version)
    return plan_of(site)


def use_on(site, name: str, instances) -> None:
    for n in instances:
        with site.varnishes[n].connect() as admin:
            admin.vcl_use(name)


class TestHalfSwitched:
    """A switch killed after some instances took vcl.use: the rerun finishes it; others say so."""

    def test_rerun_finishes_its_own_partial_switch(self, fleet_site):
        site = fleet_site
        plan = ready_to_switch(site)
        green = plan["vcl"]["green"]
        use_on(site, green, [0, 1])  # the process died after 2 of 3 took vcl.use
        run = site.cli("status", "--stage", "test")
        assert run.code == 1 and "HALF SWITCHED" in run.out and "switch --stage test" in run.out
        run = site.cli("passive", "--stage", "test", out=site.root / "another-run")
        assert run.code == 1 and "HALF SWITCHED" in run.err
        run = site.cli("record", "--stage", "test")
        assert run.code == 1 and "not served by one color" in run.err
        site.ok("switch", "--stage", "test")
        assert site.actives() == [green] * 3
        site.ok("record", "--stage", "test")
        assert site.state()["live"] == "green"
        assert site.ok("status", "--stage", "test").code == 0

    def test_an_instance_that_cannot_be_put_back_is_named(self, fleet_site):
        site = fleet_site
        plan = ready_to_switch(site)
        blue, green = plan["expected"][str(site.varnishes[0].admin)], plan["vcl"]["green"]
        fake = FakeAdmin(active=blue, loaded=[blue, green], on="vcl.use", mode="silent")
        try:
            fake_addr = Address("127.0.0.1", fake.port)
            addresses = tuple(v.admin for v in site.varnishes) + (fake_addr,)
            expected = {str(a): blue for a in addresses}
            with Fleet(addresses, site.varnish.secret_path.read_bytes(), timeout=1.0) as fleet, \
                    pytest.raises(HalfSwitched) as err:
                fleet.switch(green, expected, "test")
        finally:
            fake.close()
        message = str(err.value)
        assert "HALF SWITCHED" in message and str(fake_addr) in message
        assert "switch --stage test" in message and "reconcile --stage test" in message
        assert site.actives() == [blue] * 3, "the real instances were put back"


class TestRecordTellsTheTruth:
    """record compares with what Varnish serves and never records a guess."""

    def test_killed_switch_leaves_varnish_on_green_and_record_refuses_blue(self, site):
        plan = ready_to_switch(site)
        use_on(site, plan["vcl"]["green"], [0])  # vcl.use went out; the state was never written
        before = site.state()
        run = site.cli("record", "--stage", "test")
        assert run.code == 1
        assert "Varnish serves green in stage test but" in run.err and "says blue" in run.err
        assert site.state() == before

    def test_varnish_serving_its_own_vcl_is_not_recorded_as_live(self, site):
        site.release("1.0.0")
        use_on(site, "boot", [0])
        run = site.cli("record", "--stage", "test")
        assert run.code == 1 and "reconcile --stage test" in run.err


class TestLosingPipeline:
    """A run that lost to another one never records the other's release as its own."""

    def test_already_live_shortcut_checks_the_release(self, site):
        site.release("1.0.0")
        a_out, b_out = site.root / "run-a", site.root / "run-b"
        for argv in (["passive"], ["deploy", "--version", "3.0.0"], ["verify"]):
            site.ok(*argv, "--stage", "test", out=a_out)
        for argv in (["passive"], ["deploy", "--version", "4.0.0"], ["verify"], ["switch"]):
            site.ok(*argv, "--stage", "test", out=b_out)
        assert site.served() == ("green", "4.0.0")
        run = site.cli("switch", "--stage", "test", out=a_out)
        assert run.code == 1
        assert "answers 4.0.0, not 3.0.0 that this run verified" in run.err
        assert not (a_out / "test" / "state.json").exists() or \
            json.loads((a_out / "test" / "state.json").read_text())["colors"]["green"]["release"] != "3.0.0"


class RacingSocket:
    """A socket whose first `vcl.use TARGET` lets another run's vcl.use land right after it."""

    def __init__(self, sock, trigger: bytes, other):
        self._sock, self._trigger, self._other = sock, trigger, other

    def sendall(self, data):
        self._sock.sendall(data)
        if self._trigger in data and self._other:
            other, self._other = self._other, None
            other()

    def __getattr__(self, name):
        return getattr(self._sock, name)


class TestLostRace:
    """The compare-and-swap and the move are two commands: a run that loses in between reverts."""

    def test_the_loser_puts_back_and_refuses(self, fleet_site):
        site = fleet_site
        plan = ready_to_switch(site)
        blue, green = plan["expected"][str(site.varnishes[0].admin)], plan["vcl"]["green"]
        victim = site.varnishes[1].admin

        def other_run():  # another pipeline's switch lands on instance 1 right after ours
            with site.varnishes[1].connect() as admin:
                admin.vcl_use("boot")

        def connect(address, timeout):
            sock = socket.create_connection(address, timeout)
            if address == (victim.host, victim.port):
                return RacingSocket(sock, f"vcl.use {green}".encode(), other_run)
            return sock

        addresses = tuple(v.admin for v in site.varnishes)
        with Fleet(addresses, site.varnish.secret_path.read_bytes(), connect=connect) as fleet, \
                pytest.raises(Refused) as err:
            fleet.switch(green, dict.fromkeys(map(str, addresses), blue), "test")
        assert "lost a race" in str(err.value) and f"{victim} serves boot" in str(err.value)
        assert site.actives() == [blue, "boot", blue], "only the winner's change remains"


class TestMalformedRecords:
    """A state or plan that is not whole is refused before anything live changes."""

    @pytest.mark.parametrize("change, where", [
        (lambda s: s.update(history=[1]), "history[0]"),
        (lambda s: s.update(colors={"blue": "1.0.0"}), "colors.blue"),
        (lambda s: s["colors"]["blue"].update(vcl="x y"), "colors.blue.vcl"),
        (lambda s: s.update(live="purple"), "'live'"),
        (lambda s: s.update(switch={"window_ms": "fast"}), "switch.window_ms"),
    ])
    def test_state(self, site, change, where):
        site.release("1.0.0")
        state = site.state()
        change(state)
        (site.out / "test" / "state.json").write_text(json.dumps(state))
        before = site.actives()
        for argv in (["passive"], ["status"], ["rollback"], ["record"], ["reconcile"]):
            run = site.cli(*argv, "--stage", "test")
            # a record edited by hand is bad input (2); status reports it as unreadable (3)
            assert run.code == (3 if argv == ["status"] else 2), (argv, run.text)
            assert where in run.text and "internal error" not in run.text, (argv, run.text)
        assert site.actives() == before

    @pytest.mark.parametrize("change, where", [
        (lambda s: s.update(previous=s["live"]), "'previous'"),
        (lambda s: s.update(watch={"verdict": "fail", "intervals": "many"}), "watch"),
        (lambda s: s.update(watch=[1, 2]), "'watch'"),
        (lambda s: s["switch"].update(at="2026-11-29T10:00:00.\u00b2Z"), "switch.at"),
        (lambda s: s["switch"].update(at="\u0662\u0660\u0662\u0666-11-29T10:00:00.000Z"), "switch.at"),
    ])
    def test_state_shapes_that_crashed_a_step(self, site, change, where):
        """Shapes that got through before the records were typed: previous == live (retire then
        stopped the live color), a watch of the wrong shape (every step writing outputs broke), a
        switch time with non-ASCII digits. Refused whole, exit 2, nothing stopped or moved."""
        site.release("1.0.0")
        site.release("1.1.0")
        stop = [sys.executable, str(DEPLOY.parent / "stop.py"), "{host}", "{port}"]
        with site.config.open("a") as fh:
            fh.write(f"\n[retire]\nafter_s = 0\ncommand = {json.dumps(stop)}\n")
        state = site.state()
        change(state)
        (site.out / "test" / "state.json").write_text(json.dumps(state))
        before = site.actives()
        for argv in (["retire", "--now"], ["record"], ["rollback"], ["adopt", "--reason", "x"]):
            run = site.cli(*argv, "--stage", "test")
            assert run.code == 2 and where in run.err, (argv, run.text)
            assert "internal error" not in run.text and "Traceback" not in run.text
        assert site.actives() == before and site.served() == ("green", "1.1.0")
        assert site.served(headers={"X-Bluegreen-Color": "blue"}) == ("blue", "1.0.0"), "nothing stopped"

    def test_a_plan_with_a_migration_of_the_wrong_type_stops_switch_before_vcl_use(self, site):
        plan = ready_to_switch(site)
        plan["migration"] = "x"
        (site.out / "test" / "plan.json").write_text(json.dumps(plan))
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1 and "'migration'" in run.err and "passive --stage test" in run.err, run.text
        assert "internal error" not in run.text
        assert site.actives() == before and not (site.out / "test" / "state.json").read_text().count("1.1.0")

    def test_a_malformed_previous_state_in_the_plan_stops_switch_before_vcl_use(self, site):
        plan = ready_to_switch(site)
        plan["previous_state"]["colors"] = {"blue": "strings"}
        (site.out / "test" / "plan.json").write_text(json.dumps(plan))
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1 and "colors.blue" in run.err and "passive --stage test" in run.err
        assert site.actives() == before

    @pytest.mark.parametrize("text, said", [
        ("[]", "is not a usable plan: '(top level)' is []"),
        ('{"schema": 1}', "is not a usable plan"),
        ('{"schema": 1, "app": "shop", "stage": "prod"}', "this plan is for another app or stage"),
        ("{", "is unreadable"),
    ])
    def test_plan(self, site, text, said):
        site.ok("passive", "--stage", "test")
        (site.out / "test" / "plan.json").write_text(text)
        for argv in (["deploy", "--version", "1.0.0"], ["verify"], ["switch"]):
            run = site.cli(*argv, "--stage", "test")
            assert run.code == 1 and said in run.err, (argv, run.text)
        assert site.actives() == ["boot"]


class TestSmallerPoints:
    """Advice after restarts, rollback right after servers return, one deadline for verify."""

    def test_every_instance_restarted_advises_reconcile_not_adopt(self, site):
        site.release("1.0.0")
        site.varnish.stop()
        site.varnish.start()
        run = site.cli("passive", "--stage", "test")
        assert run.code == 1 and "reconcile --stage test" in run.err and "not 'adopt'" in run.err
        site.ok("reconcile", "--stage", "test")
        assert site.served() == ("blue", "1.0.0")
        run = site.ok("status", "--stage", "test")
        assert "rollback: not ready (no previous color recorded)" in run.out

    def test_rollback_waits_for_the_probes_of_servers_just_back(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        from bluegreen.demo import local

        blue_vcl = site.state()["colors"]["blue"]["vcl"]
        pid = int((site.run_dir / f"{site.blue[0].host}_{site.blue[0].port}.pid").read_text())
        os.kill(pid, signal.SIGTERM)  # the previous color's server goes away...
        local.wait_for(lambda: _probe(site, blue_vcl) == "sick", 30, "Varnish to see blue sick")
        site.deploy_by_hand(site.blue[0], "1.0.0", "blue")  # ...and comes back just now
        site.ok("rollback", "--stage", "test")
        assert site.served() == ("blue", "1.0.0"), site.varnish_errors()

    def test_report_after_a_rollback_shows_no_old_checks(self, site):
        site.release("1.0.0")
        site.release("1.1.0")
        report = (site.out / "test" / "report.html").read_text()
        assert "Checks of green 1.1.0" in report
        site.ok("rollback", "--stage", "test")
        report = (site.out / "test" / "report.html").read_text()
        assert "Checks of green" not in report, "the checks belong to a switch since undone"

    def test_verify_has_one_deadline(self, live_blue):
        site = live_blue
        site.write_config(checks='timeout_s = 1\nwait_s = 3\nhealth_path = "/slow?ms=5000"\n')
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        start = time.monotonic()
        run = site.cli("verify", "--stage", "test")
        took = time.monotonic() - start
        assert run.code == 1
        assert took < 3 + 1 + 2.5, f"verify took {took:.1f} s for wait_s 3 (one deadline for all)"


@pytest.fixture
def live_blue(site):
    site.release("1.0.0")
    return site


def _probe(site, vcl: str) -> str:
    with site.varnish.connect() as admin:
        return next(iter(admin.backend_list(f"{vcl}.blue_*").values()), "none")
