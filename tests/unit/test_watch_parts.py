"""The parts of watch that need no live stage: its config keys, the log readers' argv, the
Prometheus answer, junit-watch.xml, and the sample app's chosen failures."""

from __future__ import annotations

import sys

import pytest
import xmlschema

from bluegreen.checks import junit
from bluegreen.config import optional
from bluegreen.errors import ConfigError
from bluegreen.model import Address
from bluegreen.records.state import State
from bluegreen.sampleapp import metrics
from bluegreen.watch.prometheus import _total, fill
from bluegreen.watch.varnishlog import FORMAT, log_argv
from bluegreen.watch.verdict import Figures, Rules, judge
from tests.helpers.paths import JUNIT_XSD as XSD

V1, V2 = Address("10.0.0.1", 6082), Address("10.0.0.2", 6082)


class TestConfig:
    """[watch] keys: each bad value named by its key path."""

    def test_defaults(self):
        cfg = optional.watch({"seconds": 60})
        assert (cfg.source, cfg.log_command, cfg.baseline_s, cfg.timeout_s) == \
            ("varnish", ("varnishncsa",), 300.0, 5.0)

    @pytest.mark.parametrize("raw, message", [
        ({"log_names": ["a"]}, "watch.log_names: should be a table"),
        ({"log_names": {"10.0.0.1:6082": ""}}, "watch.log_names: should be a table"),
        ({"log_command": ["varnishncsa", "-n", "{name}"]}, "uses {name} but watch.log_names is not set"),
        ({"log_command": ["ssh", "{hots}"]}, "watch.log_command: unknown placeholder {hots}"),
        ({"log_command": []}, "watch.log_command: should be a non-empty argv list"),
        ({"baseline_s": -1}, "watch.baseline_s: should be a number of seconds from 0"),
        ({"interval_s": 0}, "watch.interval_s: should be a number of seconds from 1"),
        ({"source": "prometheus", "prometheus": "localhost:9090"}, "watch.prometheus: 'localhost:9090' "
                                                                   "should be a URL"),
        ({"sauce": "varnish"}, "sauce"),
    ])
    def test_bad(self, raw, message):
        with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")
                           .replace("(", r"\(")):
            optional.watch({"seconds": 60, **raw})


class TestLogArgv:
    """One argv per instance: -n names from log_names, or a command run on each host."""

    def test_name_per_instance(self):
        cfg = optional.watch({"log_names": {str(V1): "/var/lib/varnish/web1"}})
        assert log_argv(cfg.log_command, V1, cfg.log_names) == \
            ["varnishncsa", "-n", "/var/lib/varnish/web1", "-F", FORMAT]

    def test_missing_name(self):
        cfg = optional.watch({"log_names": {str(V1): "web1"}})
        with pytest.raises(ConfigError, match="no varnishd -n name for 10.0.0.2:6082"):
            log_argv(cfg.log_command, V2, cfg.log_names)

    def test_ssh_with_the_format_placed(self):
        cfg = optional.watch({"log_command": ["ssh", "{host}", "varnishncsa", "-F", "{format}"]})
        assert log_argv(cfg.log_command, V2, {}) == ["ssh", "10.0.0.2", "varnishncsa", "-F", FORMAT]
        assert not set(FORMAT) & set(" '\"|;&$`\\")  # passes through a remote shell unchanged


class TestPrometheusAnswer:
    """Placeholders filled without touching PromQL's braces; the result summed."""

    def test_fill(self):
        query = 'sum(increase(x{color="{color}",stage="{stage}"}[{interval}s]))'
        assert fill(query, "green", "prod", 10.0) == 'sum(increase(x{color="green",stage="prod"}[10s]))'

    def test_total(self):
        assert _total({"resultType": "vector", "result": []}) is None
        assert _total({"resultType": "vector", "result": [{"value": [1, "2.5"]}, {"value": [1, "1"]}]}) == 3.5
        assert _total({"resultType": "vector", "result": [{"value": [1, "NaN"]}]}) is None
        assert _total({"resultType": "scalar", "result": [1, "4"]}) == 4.0


class TestJunit:
    """junit-watch.xml is valid, one case per interval, whatever the verdicts."""

    def record(self, intervals, exit_code=1):
        return {"color": "green", "release": "1.5.0 <&>", "source": "varnish", "verdict": "fail",
                "why": "interval 2 failed \x1b", "exit": exit_code, "intervals": intervals,
                "settings": {"interval_s": 10}}

    @pytest.mark.parametrize("mode", ["pass", "fail"])
    def test_valid(self, mode):
        rules = Rules(0.02, 50)
        intervals = [judge(1, Figures(100, 0), rules), judge(2, Figures(0, 0), rules),
                     judge(3, Figures(100, 50), rules)]
        xml = junit.render_watch("prod", self.record(intervals), mode, "2026-11-29T10:00:00Z")
        xmlschema.XMLSchema(str(XSD)).validate(xml)
        assert xml.count("<testcase") == 3
        assert ('skipped="1"' in xml) == (mode == "pass")
        assert f'failures="{1 if mode == "pass" else 2}"' in xml

    def test_source_error_is_an_error_case(self):
        xml = junit.render_watch("prod", self.record([], exit_code=3), "pass", "now")
        xmlschema.XMLSchema(str(XSD)).validate(xml)
        assert 'errors="1"' in xml and "MetricsError" in xml


class TestSampleAppFailures:
    """A -failNN release fails NN% of its pages, evenly; health and version never."""

    def test_share(self):
        assert [metrics.failing_percent(r) for r in ("1.0", "1.0-fail20", "2-fail100", "3-fail7x")] == \
            [0, 20, 100, 0]

    def test_spread(self):
        from bluegreen.sampleapp.app import Request, page

        req = Request("GET", "/x", {}, {}, "green", "2.0-fail20")
        statuses = [metrics.serve(page, req).status for _ in range(100)]
        assert statuses.count(500) == 20  # any 100 in a row: exactly 20, never two in a row
        assert all(statuses[n:n + 2] != [500, 500] for n in range(99))
        version = req._replace(path="/version")
        assert {metrics.serve(page, version).status for _ in range(20)} == {200}

    def test_metrics_without_prometheus_client(self, monkeypatch):
        from bluegreen.sampleapp.app import Request

        monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
        answer = metrics.metrics(Request("GET", "/metrics", {}, {}, "blue", "1.0"))
        assert answer.status == 404 and "pip install 'bluegreen[metrics]'" in answer.body


class TestReport:
    """The report shows the watch of the switch now recorded, not an earlier release's."""

    def facts(self, history_key: str, *more_history: dict) -> tuple[dict, State]:
        """The report's facts and the State they show."""
        record = {"color": "green", "release": "2.0", "previous": "blue", "source": "varnish",
                  "verdict": "fail", "why": "interval 1 failed", "exit": 1, "finished": "now",
                  "switch_key": "switch-1", "baseline": None,
                  "rollback": {"done": True, "to": "blue", "release": "1.0", "at": "t", "key": "rollback-2"},
                  "settings": {"seconds": 4, "interval_s": 1, "max_error_rate": 0.05, "min_requests": 10},
                  "intervals": [judge(1, Figures(100, 30), Rules(0.05, 10))]}
        state = State.read({"schema": 1, "live": "blue", "previous": "green", "colors": {},
                            "watch": record, "history": [{"key": history_key, "action": "x", "to": "blue"},
                                                         *more_history]}, "shop", "test", "the test")
        facts = {"app": "shop", "stage": "test", "state": state.to_json(), "plan": {}, "generated": "now",
                 "observed": {"instances": {}, "colors": {}, "varnish_error": None,
                              "rollback": {"ready": False, "why": "x"}}}
        return facts, state

    def test_current_watch_shown(self):
        from bluegreen.report import page

        facts, state = self.facts("rollback-2")
        html = page.render_html(facts, "")
        assert "Watch of green 2.0" in html and "30.00%" in html and "rolled back to blue 1.0" in html
        assert "watch FAIL, rolled back to blue" in page.summary(facts, state)

    def test_still_shown_after_a_retire(self):
        from bluegreen.report import page

        facts, state = self.facts("rollback-2", {"action": "retire", "from": "green", "to": None})
        assert "Watch of green 2.0" in page.render_html(facts, "")
        assert "watch FAIL" in page.summary(facts, state)

    def test_earlier_watch_hidden(self):
        from bluegreen.report import page

        facts, state = self.facts("switch-7")
        assert "Watch of" not in page.render_html(facts, "")
        assert "watch" not in page.summary(facts, state)
