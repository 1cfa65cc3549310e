"""Warm-up before a switch, with real varnishd instances and real sample app servers (issue 15)."""

from __future__ import annotations

import json
import re
import threading

import pytest

from bluegreen.checks import http
from bluegreen.compare import warmup
from bluegreen.compare.requests import Request
from bluegreen.config.load import Stage
from bluegreen.config.optional import WarmupConfig
from bluegreen.demo import local
from bluegreen.model import Address
from tests.helpers import ports
from tests.helpers.label import LABEL, use_site_vcl
from tests.helpers.site import make_site, stop_site
from tests.helpers.stages import stage_next
from tests.helpers.warming import WARM, configure, hit


def switch(site, *extra: str):
    run = site.cli("--json", "switch", "--stage", "test", *extra)
    return run, json.loads(run.out)


def fetched(site, color: str, path: str) -> int:
    """How often the color's servers were asked for path (Varnish fetches a HEAD miss as GET)."""
    logs = [site.run_dir / f"{s.host}_{s.port}.requests" for s in getattr(site, color)]
    return sum(log.read_text().splitlines().count(f"GET {path}") for log in logs if log.exists())


@pytest.fixture
def staged(site):
    stage_next(site)
    return site


class TestWarm:
    """After warm-up and the switch, the new live color's cache already holds the listed pages."""

    def test_every_instance_serves_the_warmed_pages_from_its_cache(self, fleet_site):
        site = fleet_site
        stage_next(site)
        configure(site)
        run, data = switch(site)
        assert run.code == 0, run.text
        assert data["warmup"] | {"seconds": 0} == {
            "requests": 3, "instances": 3, "warmed": 9, "failed": 0, "not_sent": 0,
            "seconds": 0, "first_failure": None}
        assert "warm-up test: warmed 9 of 9 (3 URL(s) on 3 instance(s)) for green" in run.err
        assert [fetched(site, "green", p) for p in ("/page/a", "/page/b", "/page/c")] == [3, 3, 3]
        for v in site.varnishes:
            for path in ("/page/a", "/page/b", "/page/c"):
                answer = http.get(v.http, path, 5)
                assert hit(answer) and "color green, release 1.1.0" in answer.body, (v.http, path)
            assert not hit(http.get(v.http, "/page/unwarmed", 5))
        assert fetched(site, "green", "/page/a") == 3, "the hits never reached the servers"
        plan = json.loads((site.out / "test" / "plan.json").read_text())
        assert plan["switched"]["warmup"]["warmed"] == 9
        site.ok("record", "--stage", "test")
        report = (site.out / "test" / "report.html").read_text()
        assert "<th>cache warm-up</th><td>warmed 9 of 9 (3 URL(s) on 3 instance(s)) in" in report

    def test_no_warmup_skips_it(self, staged):
        configure(staged)
        run, data = switch(staged, "--no-warmup")
        assert run.code == 0 and data["warmup"] is None, run.text
        assert "warm-up test: skipped (--no-warmup)" in run.err
        assert fetched(staged, "green", "/page/a") == 0
        assert not hit(http.get(staged.varnish.http, "/page/a", 5))

    def test_a_rerun_after_the_switch_does_not_warm_again(self, staged):
        configure(staged)
        first = switch(staged)[1]["warmup"]
        run, data = switch(staged)
        assert run.code == 0 and "already live" in run.err and "warm-up" not in run.err, run.text
        assert data["warmup"] == first, "the figures of the switch that warmed"
        assert fetched(staged, "green", "/page/a") == 1

    def test_compares_requests_by_default_leaving_out_unsafe_lines(self, staged):
        (staged.root / "requests.txt").write_text("GET /page/a\nPOST /api/orders\nGET /page/b\n")
        configure(staged, table="top = 1\n")
        staged.config.write_text(staged.config.read_text() + '[compare]\nrequests = "requests.txt"\n')
        run = staged.ok("switch", "--stage", "test")
        assert "warmed 1 of 1 (1 URL(s) on 1 instance(s)) for green" in run.err
        assert hit(http.get(staged.varnish.http, "/page/a", 5))
        assert not hit(http.get(staged.varnish.http, "/page/b", 5)), "top = 1"
        assert "POST" not in "".join(p.read_text() for p in staged.run_dir.glob("*.requests"))

    def test_the_first_release_has_nothing_to_warm_through(self, site):
        configure(site)
        for argv in (["passive"], ["deploy", "--version", "1.0.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        run = site.ok("switch", "--stage", "test")
        assert "warm-up test: skipped (first release" in run.err
        assert site.served() == ("blue", "1.0.0")


class TestPreviewTrust:
    """Warm-up reaches the passive color the way verify and compare do: listener and token."""

    TOKEN = "warmup-preview-token-0123456789abcdef"

    def test_through_the_preview_listener_with_the_token(self, site):
        varnish = site.use_preview_listener(self.TOKEN)
        stage_next(site)
        configure(site)
        run, data = switch(site)
        assert run.code == 0 and data["warmup"]["warmed"] == 3, run.text
        answer = http.get(varnish.http, "/page/a", 5)
        assert hit(answer) and "color green" in answer.body, "the public listener hits the object"
        assert self.TOKEN not in site.outputs_text() + run.text

    def test_a_preview_that_does_not_reach_the_colors_warms_nothing(self, site):
        site.write_config(vcl='preview_from = ["10.0.0.1"]\n')
        site.release("1.0.0")
        for argv in (["passive"], ["deploy", "--version", "1.1.0"]):
            site.ok(*argv, "--stage", "test")
        configure(site)
        run, data = switch(site, "--force")  # verify cannot pass without a preview either
        assert run.code == 0 and site.served()[1] == "1.1.0", run.text  # the color stays hidden
        assert data["warmup"]["warmed"] == 0 and data["warmup"]["failed"] == 3
        assert "the preview does not reach the colors" in run.err


class TestBestEffort:
    """A failing front, a 5xx, a spent budget: said in one or two lines; the switch goes on."""

    def test_a_front_that_is_down(self, workdir, capsys, monkeypatch):
        site = make_site(workdir, capsys, monkeypatch, instances=2)
        try:
            stage_next(site)
            down = f"127.0.0.1:{ports.free_port()}"
            site.config.write_text(site.config.read_text().replace(str(site.varnishes[1].http), down))
            configure(site)
            run, data = switch(site)
            assert run.code == 0, run.text
            assert data["warmup"]["warmed"] == 3 and data["warmup"]["failed"] == 3
            assert f"via {down}" in data["warmup"]["first_failure"]
            warning = [line for line in run.err.splitlines() if line.startswith("WARNING: warm-up")]
            assert len(warning) == 1 and "3 failed" in warning[0] and "switching anyway" in warning[0]
            assert [site.served(front=n) for n in (0, 1)] == [("green", "1.1.0")] * 2
            assert hit(http.get(site.varnishes[0].http, "/page/a", 5))
        finally:
            stop_site(site)

    def test_a_page_that_answers_500(self, site):
        stage_next(site, "1.1.0-e500")  # the sample app's /api/products/3 answers 500
        configure(site, "GET /api/products/3\nGET /page/a\n")
        run, data = switch(site)
        assert run.code == 0 and site.served() == ("green", "1.1.0-e500"), run.text
        assert (data["warmup"]["warmed"], data["warmup"]["failed"]) == (1, 1)
        assert data["warmup"]["first_failure"].startswith("GET /api/products/3 via ")
        assert data["warmup"]["first_failure"].endswith(": HTTP 500")
        site.ok("record", "--stage", "test")
        report = (site.out / "test" / "report.html").read_text()
        assert '<span class="warn">1 failed</span> (first: GET /api/products/3 via ' in report

    def test_a_spent_budget_stops_warming(self, staged):
        configure(staged, "GET /slow?ms=4000\nGET /page/a\nGET /page/b\n",
                  'requests = "warm.txt"\nconcurrency = 1\nbudget_s = 0.5\n')
        run, data = switch(staged)
        assert run.code == 0 and staged.served() == ("green", "1.1.0"), run.text
        assert data["warmup"]["not_sent"] == 2 and data["warmup"]["failed"] == 1
        assert data["warmup"]["seconds"] < 3
        assert "2 not sent: warmup.budget_s (0.5 s) ran out" in run.err
        assert fetched(staged, "green", "/page/a") == 0


class TestLastMoment:
    """The checks that the target still runs the verified release come after the warm-up: a
    deploy during it is caught, and nothing goes live."""

    def test_a_deploy_by_hand_during_the_warm_up_refuses_the_switch(self, staged):
        site = staged
        configure(site, "GET /slow?ms=3000\n")

        def deploy_during_the_warm_up():
            local.wait_for(lambda: fetched(site, "green", "/slow?ms=3000"), 30, "the warm-up's request")
            site.deploy_by_hand(site.green[0], "6.6.6-broken", "green")

        by_hand = threading.Thread(target=deploy_during_the_warm_up)
        by_hand.start()
        run, data = switch(site)
        by_hand.join(60)
        assert run.code == 1, run.text
        # the server answers the new release, or nothing yet while it restarts: either refuses
        assert re.search(rf"green {site.green[0]} answers (6\.6\.6-broken|Connection refused), not "
                         r"1\.1\.0 that passed verify", run.err), run.err
        assert "nothing live changed" in run.err
        assert site.served() == ("blue", "1.0.0")


class TestBadInput:
    """Bad configuration or file: one line naming the key, exit 2, nothing live changed."""

    @pytest.mark.parametrize("requests, table, words", [
        (WARM, 'requests = "warm.txt"\ntop = 0\n', "warmup.top: should be a whole number from 1"),
        (WARM, 'requests = "warm.txt"\nbudget_s = "1m"\n', "warmup.budget_s: should be a number"),
        (WARM, 'requests = "warm.txt"\ncolour = 1\n', "warmup.colour: unknown key"),
        (WARM, "top = 5\n", "warmup.requests: is required without [compare]"),
        (WARM, 'requests = "nope.txt"\n', "warmup.requests: file"),
        ("GET /page/a\nPOST /api/orders\n", 'requests = "warm.txt"\n',
         "warm.txt line 2: POST is never sent to warm the cache"),
        ("GET page/a\n", 'requests = "warm.txt"\n', "warmup.requests: "),
        ("# nothing\n", 'requests = "warm.txt"\n', "warmup.requests: "),
    ])
    def test_refused_before_anything_moves(self, staged, requests, table, words):
        configure(staged, requests, table)
        run = staged.cli("switch", "--stage", "test")
        assert run.code == 2 and words in run.err, run.text
        assert len([line for line in run.err.splitlines() if line.startswith("bluegreen:")]) == 1
        assert staged.served() == ("blue", "1.0.0")
        assert fetched(staged, "green", "/page/a") == 0


class TestDecisions:
    """warmup.py alone: which requests, where, with which headers, and what is said."""

    def settings(self, **kw) -> WarmupConfig:
        return WarmupConfig(**{"requests": "w.txt", "from_compare": False, "top": 200,
                               "concurrency": 8, "timeout_s": 10.0, "budget_s": 60.0, **kw})

    def test_the_first_top_safe_requests_in_file_order(self):
        text = "GET /a\nGET /b\nGET /a\nHEAD /c\n"
        got = warmup.requests(text, self.settings(top=2), "X-Bluegreen-Color")
        assert [str(r) for r in got] == ["GET /a", "GET /b"]

    def test_compares_file_may_hold_unsafe_lines(self):
        got = warmup.requests("POST /o\nGET /a\n", self.settings(from_compare=True), "X-C")
        assert [str(r) for r in got] == ["GET /a"]

    def test_through_a_preview_listener_the_host_is_the_fronts(self):
        front, listener = Address("127.0.0.1", 6081), Address("127.0.0.1", 6091)
        stage = Stage("t", (Address("127.0.0.1", 6082),), (front,), {}, "l", (), (listener,))
        assert warmup.targets(stage) == [warmup.Target(listener, "127.0.0.1:6081")]
        plain = Stage("t", stage.varnish, (front,), {}, "l", (), ())
        assert warmup.targets(plain) == [warmup.Target(front, None)]

    def test_the_files_host_wins_then_checks_host_then_the_fronts(self):
        color = {"X-Bluegreen-Color": "green"}
        own = Request("GET", "/a", (("host", "shop"),))
        assert warmup.headers(own, {**color, "Host": "x"}, "f:1") == {**color, "host": "shop"}
        assert warmup.headers(Request("GET", "/a"), {**color, "Host": "x"}, "f:1")["Host"] == "x"
        assert warmup.headers(Request("GET", "/a"), color, "f:1") == {**color, "Host": "f:1"}

    def test_one_line_when_all_went_well_two_otherwise(self):
        tally = warmup.Tally(2, 2, budget_s=5)
        for n in range(4):
            tally.add(f"GET /{n}", None)
        assert len(tally.lines("prod", "green")) == 1
        tally.add("GET /x via a:1", "HTTP 503")
        tally.add("GET /y via a:1", None, sent=False)
        head, warning = tally.lines("prod", "green")
        assert "warmed 4 of 4" in head
        assert warning == ("WARNING: warm-up prod: 1 failed (first: GET /x via a:1: HTTP 503); "
                           "1 not sent: warmup.budget_s (5 s) ran out; switching anyway")


class TestLabelMode:
    """On a Varnish shared with other sites, warm-up goes through the site's own VCL with the app's
    Host, and the label's new VCL then serves the warmed pages from its cache."""

    def test_through_the_site_vcl(self, workdir, capsys, monkeypatch):
        site = make_site(workdir, capsys, monkeypatch, instances=2)
        try:
            site.write_config(vcl=LABEL, checks='timeout_s = 2\nwait_s = 8\nhost = "shop"\n')
            site.release("1.0.0")  # the first switch creates the label
            use_site_vcl(site, ports.address(), {"shop": "shop_test"})
            configure(site)
            for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
                site.ok(*argv, "--stage", "test")
            run, data = switch(site)
            assert run.code == 0, run.text
            assert (data["warmup"]["warmed"], data["warmup"]["failed"]) == (6, 0), run.err
            for v in site.varnishes:
                answer = http.get(v.http, "/page/a", 5, {"Host": "shop"})
                assert hit(answer) and "color green, release 1.1.0" in answer.body, v.http
            assert fetched(site, "green", "/page/a") == 2
        finally:
            stop_site(site)
