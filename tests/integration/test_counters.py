"""status shows requests and failures per color, from the live VCL's backend counters
(varnishstat against real varnishd; the document layouts of Varnish 6 and 7 as plain cases)."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest

from bluegreen.checks import http
from bluegreen.demo import local
from tests.helpers import ports
from tests.helpers.label import LABEL, shop, use_site_vcl
from tests.helpers.site import make_site, stop_site


def names_for(site) -> str:
    return "".join(f'"{v.admin}" = "{v.workdir}"\n' for v in site.varnishes)


def with_status(site, status: str = "", names: bool = True, vcl: str = "", checks_: str = "") -> None:
    extra = f"{checks_ or 'timeout_s = 2'}\nwait_s = 8\n"
    body = "\n[status]\n" + status + ("[status.names]\n" + names_for(site) if names else "")
    site.write_config(vcl=vcl, checks=extra, stage=_stage(site) + body)


def _stage(site) -> str:
    return (f'varnish = [{", ".join(repr(str(v.admin)) for v in site.varnishes)}]\n'
            f'front = [{", ".join(repr(str(v.http)) for v in site.varnishes)}]\n'
            f'blue = [{", ".join(repr(str(a)) for a in site.blue)}]\n'
            f'green = [{", ".join(repr(str(a)) for a in site.green)}]\n')


def get_n(site, path: str, n: int, headers: dict | None = None) -> None:
    for _ in range(n):
        http.get(site.varnish.http, path, 5, headers)


def counts(site) -> dict:
    return {inst: v["counters"] for inst, v in status_of(site).items()}


def grew(before: dict, after: dict) -> dict:
    """What each color's (requests, failed) grew by between two readings of one instance."""
    return {c: (after[c]["requests"] - before[c]["requests"], after[c]["failed"] - before[c]["failed"])
            for c in before}


def stop_blue(site) -> None:
    pidfile = site.run_dir / f"{site.blue[0].host}_{site.blue[0].port}.pid"
    os.kill(int(pidfile.read_text()), signal.SIGTERM)
    local.wait_for(lambda: not http.get(site.blue[0], "/health", 1).ok, 10, "blue to stop answering")


def status_of(site) -> dict:
    run = site.cli("--json", "status", "--stage", "test")
    return json.loads(run.out)["stages"]["test"]["instances"]


@pytest.fixture
def pair(workdir, capsys, monkeypatch):
    site = make_site(workdir, capsys, monkeypatch, instances=2)
    yield site
    stop_site(site)


class TestStatus:
    """status reads each instance's counters of the VCL it serves, per color."""

    def test_requests_per_color_follow_the_releases(self, pair):
        with_status(pair)
        pair.release("1.0.0")
        pair.release("1.1.0")  # green live, blue keeps 1.0.0
        before = counts(pair)
        get_n(pair, "/version", 6)  # through front 0 only; /version is not cached
        get_n(pair, "/version", 2, {"X-Bluegreen-Color": "blue"})  # a preview
        after = counts(pair)
        first, second = (str(v.admin) for v in pair.varnishes)
        assert grew(before[first], after[first]) == {"blue": (2, 0), "green": (6, 0)}
        assert grew(before[second], after[second]) == {"blue": (0, 0), "green": (0, 0)}
        run = pair.ok("status", "--stage", "test")
        blue = status_of(pair)[first]["counters"]["blue"]
        assert f"counters: blue {blue['requests']} requests, {blue['failed']} failed; green" in run.out
        pair.release("1.2.0")
        before = counts(pair)
        get_n(pair, "/version", 3)
        assert grew(before[first], counts(pair)[first])["blue"] == (3, 0)  # the VCL now live

    def test_failures_of_a_stopped_server(self, pair):
        with_status(pair)
        pair.release("1.0.0")
        before = counts(pair)
        stop_blue(pair)
        get_n(pair, "/version", 3)
        first = str(pair.varnish.admin)
        requests, failed = grew(before[first], counts(pair)[first])["blue"]
        assert failed >= 3 and requests == 0  # and the probes' failed connections

    def test_names_borrowed_from_watch(self, pair):
        watch = ("\n[watch]\nsource = \"varnish\"\nlog_command = [\"varnishncsa\", \"-n\", \"{name}\"]\n"
                 "[watch.log_names]\n" + names_for(pair))
        pair.write_config(stage=_stage(pair) + watch + "[status]\ntimeout_s = 3\n")
        pair.release("1.0.0")
        assert "counters: blue" in pair.ok("status", "--stage", "test").out


class TestStatusFaults:
    """A counter source that fails is named on its line; the rest of status is unchanged."""

    def test_varnishstat_of_a_missing_instance(self, pair):
        pair.release("1.0.0")
        with_status(pair, names=False, status=(
            'stat_command = ["varnishstat", "-1", "-j", "-n", "{name}"]\n[status.names]\n'
            + "".join(f'"{v.admin}" = "{pair.root}/nothing-{i}"\n' for i, v in enumerate(pair.varnishes))))
        run = pair.cli("status", "--stage", "test")
        assert run.code == 0, run.text
        assert run.out.count("counters: could not read: varnishstat -1 -j -n") == 2
        assert "serves blue" in run.out and "rollback:" in run.out

    def test_output_that_is_not_json(self, pair):
        pair.release("1.0.0")
        script = pair.root / "hello.py"
        script.write_text("print('hello')\n")
        with_status(pair, names=False,
                    status=f'stat_command = ["{sys.executable}", "{script}", "{{instance}}"]\n')
        run = pair.cli("status", "--stage", "test")
        assert run.code == 0 and "did not print varnishstat's JSON (hello)" in run.out

    def test_a_command_that_hangs(self, pair):
        pair.release("1.0.0")
        script = pair.root / "hang.py"
        script.write_text("import time\ntime.sleep(60)\n")
        with_status(pair, names=False, status=f'timeout_s = 0.5\nstat_command = ["{sys.executable}", '
                                              f'"{script}", "{{instance}}"]\n')
        run = pair.cli("status", "--stage", "test")
        assert run.code == 0 and run.out.count("timed out after 0.5 s") == 2

    def test_a_command_that_is_missing(self, pair):
        pair.release("1.0.0")
        with_status(pair, names=False, status='stat_command = ["no-such-varnishstat", "{instance}"]\n')
        run = pair.cli("status", "--stage", "test")
        assert run.code == 0 and "could not run no-such-varnishstat" in run.out

    def test_an_instance_without_a_name_is_named_on_its_line(self, pair):
        pair.release("1.0.0")
        with_status(pair, names=False, status=(
            f'[status.names]\n"{pair.varnish.admin}" = "{pair.varnish.workdir}"\n'))
        run = pair.cli("status", "--stage", "test")
        assert run.code == 0, run.text
        assert "counters: blue " in run.out
        assert (f"counters: could not read: status.names: has no varnishd -n name for "
                f"{pair.varnishes[1].admin}") in run.out

    def test_one_command_for_every_instance_is_refused_on_each_line(self, pair):
        pair.release("1.0.0")
        with_status(pair, names=False)  # the default without names reads the agent's own Varnish
        run = pair.cli("status", "--stage", "test")
        assert run.code == 0 and run.out.count("would read the same Varnish for every instance") == 2

    def test_an_instance_serving_another_vcl_has_no_counters_line(self, pair):
        with_status(pair)
        run = pair.cli("status", "--stage", "test")  # before the first release: boot is active
        assert "serves not ours" in run.out and "counters:" not in run.out


class TestLabelMode:
    """In label mode the counters are those of the VCL the label points to."""

    def test_label_target_counts(self, workdir, capsys, monkeypatch):
        site = make_site(workdir, capsys, monkeypatch, instances=1)
        try:
            with_status(site, vcl=LABEL, checks_='timeout_s = 2\nhost = "shop"')
            site.release("1.0.0")  # the first switch creates the label
            use_site_vcl(site, ports.address(), {"shop": "shop_test"})
            for _ in range(4):
                assert shop(site) == ("blue", "1.0.0")
            found = status_of(site)[str(site.varnish.admin)]["counters"]
            assert found["blue"]["requests"] >= 4
        finally:
            stop_site(site)
