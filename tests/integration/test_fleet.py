"""A stage served by several Varnish instances: two phases, compare-and-swap, revert, reconcile."""

from __future__ import annotations

import os
import signal

import pytest

from bluegreen.errors import Refused, VarnishError
from bluegreen.model import Address
from bluegreen.varnish.fleet import Fleet
from tests.helpers.fakes import FakeAdmin


def loaded_names(site):
    """VCLs loaded on the first instance, less those discarded and cooling down."""
    with site.varnish.connect() as admin:
        return {e["name"] for e in admin.vcl_list() if e.get("status") != "discarded"}


class TestFleetRelease:
    """Every instance switches together through the CLI."""

    def test_release_switches_every_instance(self, fleet_site):
        site = fleet_site
        site.release("1.0.0")
        assert len(set(site.actives())) == 1 and site.actives()[0].startswith("shop_test_blue_")
        site.release("1.1.0")
        assert {site.served(front=n) for n in range(3)} == {("green", "1.1.0")}
        state = site.state()
        assert state["switch"]["instances"] == 3
        assert 0 < state["switch"]["window_ms"] < 1000

    def test_unreachable_instance_before_switch_changes_nothing(self, fleet_site):
        site = fleet_site
        site.release("1.0.0")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")
        site.varnishes[2].stop()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 3
        assert f"{site.varnishes[2].admin} is not reachable" in run.err
        assert all(site.served(front=n) == ("blue", "1.0.0") for n in range(2))
        site.varnishes[2].start()
        assert site.actives()[2] == "boot" or site.served(front=2)[0] == "blue"


@pytest.fixture
def two_loaded(fleet_site):
    """Three real instances, blue live on all and green loaded warm."""
    site = fleet_site
    site.release("1.0.0")
    site.ok("passive", "--stage", "test")
    site.ok("deploy", "--stage", "test", "--version", "1.1.0")
    site.ok("verify", "--stage", "test")
    names = loaded_names(site)
    blue = site.actives()[0]
    green = next(n for n in names if n.startswith("shop_test_green_"))
    return site, blue, green


@pytest.fixture
def interruptible():
    """SIGINT raises KeyboardInterrupt, as in a terminal (a shell's background job ignores it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class TestTwoPhaseSwitch:
    """The Fleet's phase 2 against real instances and a fake that misbehaves."""

    def _fleet(self, site, extra=()):
        addresses = tuple(v.admin for v in site.varnishes) + tuple(extra)
        return Fleet(addresses, site.varnish.secret_path.read_bytes(), timeout=1.0)

    def test_compare_and_swap_refuses_and_changes_nothing(self, two_loaded):
        site, blue, green = two_loaded
        with site.varnishes[1].connect() as admin:
            admin.vcl_use("boot")
        expected = {str(v.admin): blue for v in site.varnishes}
        with self._fleet(site) as fleet, pytest.raises(Refused, match="got there first"):
            fleet.switch(green, expected, "test")
        assert site.actives() == [blue, "boot", blue]

    @pytest.mark.parametrize("mode, said", [("garbage", "not the Varnish CLI protocol"),
                                            ("refuse", "106 No VCL named that"),
                                            ("silent", "did not answer within")])
    def test_partial_failure_switches_the_others_back(self, two_loaded, mode, said):
        site, blue, green = two_loaded
        fake = FakeAdmin(active=blue, loaded=[blue, green], on="vcl.use", mode=mode)
        try:
            fake_addr = Address("127.0.0.1", fake.port)
            expected = {str(v.admin): blue for v in site.varnishes} | {str(fake_addr): blue}
            with self._fleet(site, [fake_addr]) as fleet, pytest.raises(VarnishError) as err:
                fleet.switch(green, expected, "test")
        finally:
            fake.close()
        message = str(err.value)
        assert f"{fake_addr} answered" in message and said in message
        assert "switched back" in message
        assert site.actives() == [blue, blue, blue], "the stage is never left half switched"
        assert site.served() == ("blue", "1.0.0")

    def test_ctrl_c_during_phase_2_still_reverts_then_interrupts(self, two_loaded, interruptible):
        site, blue, green = two_loaded
        fake = FakeAdmin(active=blue, loaded=[blue, green], on="vcl.use", mode="garbage",
                         before_answer=lambda: os.kill(os.getpid(), signal.SIGINT))
        try:
            fake_addr = Address("127.0.0.1", fake.port)
            expected = {str(v.admin): blue for v in site.varnishes} | {str(fake_addr): blue}
            with self._fleet(site, [fake_addr]) as fleet, pytest.raises(KeyboardInterrupt):
                fleet.switch(green, expected, "test")
        finally:
            fake.close()
        assert site.actives() == [blue, blue, blue], "the Ctrl-C waited for the revert"

    def test_instance_stopped_after_connecting_changes_nothing(self, two_loaded):
        site, blue, green = two_loaded
        expected = {str(v.admin): blue for v in site.varnishes}
        fleet = self._fleet(site).open()
        try:
            site.varnishes[2].stop()  # connections are open: it dies before phase 2
            with pytest.raises(VarnishError) as err:
                fleet.switch(green, expected, "test")
        finally:
            fleet.close()
        assert str(site.varnishes[2].admin) in str(err.value)
        for v in site.varnishes[:2]:
            with v.connect() as admin:
                assert admin.active_vcl() == blue

    def test_window_is_measured_from_first_send_to_last_reply(self, two_loaded):
        site, blue, green = two_loaded
        expected = {str(v.admin): blue for v in site.varnishes}
        with self._fleet(site) as fleet:
            result = fleet.switch(green, expected, "test")
        assert result.instances == 3 and 0 < result.window_ms < 1000
        assert site.actives() == [green] * 3


class TestRestartAndReconcile:
    """An instance restarted with its boot VCL serves neither color until reconciled."""

    def test_status_and_passive_report_it_and_reconcile_fixes_it(self, fleet_site):
        site = fleet_site
        site.release("1.0.0")
        site.release("1.1.0")
        site.varnishes[1].stop()
        site.varnishes[1].start()
        assert site.actives()[1] == "boot"
        run = site.cli("status", "--stage", "test")
        assert run.code == 1
        assert f"{site.varnishes[1].admin}" in run.out and "not ours" in run.out
        run = site.cli("passive", "--stage", "test")
        assert run.code == 1 and "not served by one color" in run.err and "reconcile" in run.err
        run = site.ok("reconcile", "--stage", "test")
        assert str(site.varnishes[1].admin) in run.err
        assert {site.served(front=n) for n in range(3)} == {("green", "1.1.0")}
        assert site.ok("passive", "--stage", "test").out.strip() == "blue"


class TestHousekeeping:
    """Old VCLs of ours are discarded beyond vcl.keep; others never are."""

    def test_keeps_at_most_keep_per_color_and_never_the_protected(self, site):
        with site.varnish.connect() as admin:
            admin.vcl_inline("theirs", "vcl 4.1;\nbackend b none;\n", "cold")
        for n, timeout in enumerate((1, 2, 3, 4)):
            # a changed VCL each release: the probe no longer follows checks.timeout_s
            site.write_config(vcl=f"keep = 1\n[vcl.backend]\nfirst_byte_timeout = {timeout}\n",
                              checks="timeout_s = 2\nwait_s = 8\n")
            site.release(f"1.{n}.0")
        names = loaded_names(site)
        ours = sorted(n for n in names if n.startswith("shop_test_"))
        assert "theirs" in names and "boot" in names
        state = site.state()
        for color in ("blue", "green"):
            assert state["colors"][color]["vcl"] in names
        assert len([n for n in ours if "_blue_" in n]) <= 2
        assert len([n for n in ours if "_green_" in n]) <= 2
        site.ok("rollback", "--stage", "test")
