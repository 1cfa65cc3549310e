"""watch: a real Varnish, real sample apps, real Prometheus, traffic through Varnish meanwhile."""

from __future__ import annotations

import json
import sys

import pytest
import xmlschema

from bluegreen.demo import local
from tests.helpers.local_watch import Traffic
from tests.helpers.paths import JUNIT_XSD as XSD
from tests.helpers.watching import configure, go_live, rolled_back_by_watch, stop_green, watch

SOURCES = ["varnish", "prometheus"]


@pytest.mark.parametrize("source", SOURCES)
class TestFailingRelease:
    """A release failing 20% of pages is rolled back within two intervals, figures recorded."""

    def test_rolled_back_with_figures(self, site, source, request):
        prom = request.getfixturevalue("prometheus") if source == "prometheus" else None
        configure(site, source, prom)
        go_live(site, "2.0-fail20", prom)
        with Traffic(site.varnish.http, rate=60):
            run = watch(site)
        assert run.code == 1, run.text
        data = json.loads(run.out)
        failing = data["intervals"][-1]
        assert failing["verdict"] == "fail" and len(data["intervals"]) <= 2, run.err
        assert failing["requests"] >= 10 and 0.1 <= failing["share"] <= 0.35, failing
        assert rolled_back_by_watch(site) and site.served("/version") == ("blue", "1.0")
        recorded = site.state()["watch"]
        assert recorded["intervals"][-1] == failing and recorded["rollback"]["done"]
        assert recorded["rollback"]["key"] == site.state()["history"][-1]["key"]
        assert f"{failing['requests']} requests, {failing['errors']} errors" in run.err
        assert "FAIL" in run.err and "rolling back to blue" in run.err
        xmlschema.XMLSchema(str(XSD)).validate(str(site.out / "test" / "junit-watch.xml"))
        report = (site.out / "test" / "report.html").read_text()
        assert "Watch of green 2.0-fail20" in report and ">fail<" in report
        summary = (site.out / "test" / "summary.txt").read_text()
        assert summary.startswith("test: LIVE blue 1.0") and "watch FAIL, rolled back to blue" in summary
        again = watch(site)  # a rerun converges: the verdict stands, nothing switches
        assert again.code == 1 and json.loads(again.out)["already"] and site.state()["live"] == "blue"


@pytest.mark.parametrize("source", SOURCES)
class TestHealthyRelease:
    """A release failing nothing passes and stays live."""

    def test_passes(self, site, source, request):
        prom = request.getfixturevalue("prometheus") if source == "prometheus" else None
        configure(site, source, prom)
        go_live(site, "2.0", prom)
        with Traffic(site.varnish.http, rate=60):
            run = watch(site)
        assert run.code == 0, run.text
        data = json.loads(run.out)
        assert data["verdict"] == "pass" and all(i["verdict"] == "pass" for i in data["intervals"])
        assert site.state()["live"] == "green" and site.state()["history"][-1]["action"] == "switch"
        assert site.state()["watch"]["verdict"] == "pass"
        assert "watch PASS" in (site.out / "test" / "summary.txt").read_text()
        assert run.err.count("%: PASS") == len(data["intervals"])


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("mode", ["pass", "fail", "rollback"])
class TestNoTraffic:
    """No traffic at all is inconclusive, and on_inconclusive decides."""

    def test_follows_on_inconclusive(self, site, source, mode, request):
        prom = request.getfixturevalue("prometheus") if source == "prometheus" else None
        configure(site, source, prom, on_inconclusive=mode, seconds=2)
        go_live(site, "2.0", prom)
        run = watch(site)
        data = json.loads(run.out)
        assert data["verdict"] == "inconclusive", run.err
        assert all(i["verdict"] == "inconclusive" for i in data["intervals"])
        assert run.code == (0 if mode == "pass" else 1), run.err
        assert f'on_inconclusive = "{mode}"' in data["why"]
        if mode == "rollback":
            assert rolled_back_by_watch(site), site.state()["history"]
        else:
            assert site.state()["live"] == "green" and site.served("/version") == ("green", "2.0")


class TestColorDown:
    """A new color that stops answering: Varnish answers 503s itself."""

    def test_varnish_source_sees_the_503s_and_rolls_back(self, site):
        configure(site, "varnish")
        go_live(site, "2.0")
        with Traffic(site.varnish.http, rate=60) as traffic:
            stop_green(site)
            run = watch(site)
        assert run.code == 1, run.text
        failing = json.loads(run.out)["intervals"][-1]
        assert failing["verdict"] == "fail" and failing["share"] > 0.9, failing
        assert rolled_back_by_watch(site) and traffic.count(status=lambda s: s == 503) > 0

    def test_prometheus_source_sees_no_series(self, site, prometheus):
        """Its scrape of the stopped app fails, the series go stale: inconclusive, with the query
        shown; only on_inconclusive = "rollback" takes it back, after the whole watch."""
        configure(site, "prometheus", prometheus, on_inconclusive="rollback")
        go_live(site, "2.0", prometheus)
        with Traffic(site.varnish.http, rate=60):
            stop_green(site)
            local.wait_for(lambda: not prometheus.scraped(str(site.green[0])), 20, "a failed scrape")
            run = watch(site)
        data = json.loads(run.out)
        assert run.code == 1 and data["verdict"] == "inconclusive", run.err
        assert "requests_query returned no series" in data["intervals"][-1]["why"]
        assert 'color="green"' in data["intervals"][-1]["why"]
        assert rolled_back_by_watch(site)


@pytest.mark.parametrize("source", SOURCES)
class TestNotHot:
    """After retire the previous color is not hot: watch exits 1 and never switches."""

    def test_exits_1_without_switching(self, site, source, request):
        prom = request.getfixturevalue("prometheus") if source == "prometheus" else None
        configure(site, source, prom)
        stop = [sys.executable, "-m", "bluegreen.sampleapp.stop", "{host}", "{port}", "{color}"]
        site.config.write_text(site.config.read_text()
                               + f"\n[retire]\nafter_s = 0\ncommand = {json.dumps(stop)}\n")
        go_live(site, "2.0-fail20", prom)
        assert site.ok("retire", "--stage", "test", "--now").out.strip() == "retired"
        assert site.state()["colors"]["blue"]["readiness"] == "retired"
        before = site.actives()
        with Traffic(site.varnish.http, rate=60):
            run = watch(site)
        assert run.code == 1, run.text
        assert "cannot roll back to blue: it is retired, not hot" in run.err
        assert site.actives() == before and site.state()["live"] == "green"
        assert [h["action"] for h in site.state()["history"]][-2:] == ["switch", "retire"]
        why = json.loads(run.out)["rollback"]["why"]
        assert site.state()["watch"]["rollback"] == {"done": False, "why": why}


class TestBaseline:
    """Prometheus knows the old color's share before the switch: only worse than it fails."""

    def test_no_worse_than_before_passes(self, site, prometheus):
        configure(site, "prometheus", prometheus, baseline_s=60)
        site.release("1.0-fail30")
        with Traffic(site.varnish.http, rate=60) as traffic:
            local.wait_for(lambda: traffic.count(status=lambda s: s == 500) >= 30, 30, "blue's errors")
            local.wait_for(lambda: prometheus.scraped(str(site.blue[0])), 30, "a scrape of blue")
            site.release("2.0-fail10")
            local.wait_for(lambda: prometheus.scraped(str(site.green[0])), 30, "a scrape of green")
            run = watch(site)
        data = json.loads(run.out)
        assert 0.2 <= data["baseline"] <= 0.4, data
        assert run.code == 0 and site.state()["live"] == "green", run.err
        assert any("not above the old color's" in i["why"] for i in data["intervals"]), run.err
