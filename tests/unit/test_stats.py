"""status's counters per color, from varnishstat's JSON (the layouts of Varnish 6 and 7 as plain
cases), and the [status] table (against a real varnishd: tests/integration/test_counters.py)."""

from __future__ import annotations

import json

import pytest

from bluegreen.config import optional
from bluegreen.errors import ConfigError
from bluegreen.model import Address
from bluegreen.varnish import stats

V7 = {"version": 1, "timestamp": "2026-11-29T12:00:00", "counters": {
    "VBE.shop_test_blue_1.blue_127_0_0_1_9101.req": {"flag": "c", "value": 10},
    "VBE.shop_test_blue_1.blue_127_0_0_1_9102.req": {"flag": "c", "value": 5},
    "VBE.shop_test_blue_1.blue_127_0_0_1_9102.fail": {"flag": "c", "value": 0},
    "VBE.shop_test_blue_1.blue_127_0_0_1_9102.fail_econnrefused": {"flag": "c", "value": 2},
    "VBE.shop_test_blue_1.blue_127_0_0_1_9102.unhealthy": {"flag": "c", "value": 3},
    "VBE.shop_test_blue_1.green_127_0_0_1_9201.req": {"flag": "c", "value": 1},
    "VBE.shop_test_blue_1.green_127_0_0_1_9201.busy": {"flag": "c", "value": 1},
    "VBE.shop_test_green_2.green_127_0_0_1_9201.req": {"flag": "c", "value": 99},
    "VBE.shop_test_blue_1.other.req": {"flag": "c", "value": 7},
    "MAIN.uptime": {"flag": "c", "value": 1000}}}


class TestPerColor:
    """The sums per color, for the live VCL only, from either document layout."""

    def test_varnish_7_document(self):
        found = stats.per_color(json.dumps(V7), "shop_test_blue_1")
        assert found == {"blue": {"requests": 15, "failed": 5, "backends": 2},
                         "green": {"requests": 1, "failed": 1, "backends": 1}}

    def test_varnish_6_flat_document(self):
        flat = {"timestamp": "2026-11-29T12:00:00", **V7["counters"]}
        flat["VBE.shop_test_blue_1.green_127_0_0_1_9201.fail"] = {"value": 4}
        found = stats.per_color(json.dumps(flat), "shop_test_blue_1")
        assert found["green"] == {"requests": 1, "failed": 5, "backends": 1}

    @pytest.mark.parametrize("text", ["", "hello", "[1, 2]", '"x"'])
    def test_not_varnishstat_json(self, text):
        with pytest.raises(ValueError):
            stats.per_color(text, "shop_test_blue_1")

    def test_odd_values_count_as_nothing(self):
        doc = {"counters": {"VBE.v.blue_h_1.req": {"value": -3}, "VBE.v.blue_h_1.busy": {"value": True},
                            "VBE.v.blue_h_2.req": "x"}}
        assert stats.per_color(json.dumps(doc), "v")["blue"] == {"requests": 0, "failed": 0,
                                                                      "backends": 1}

    def test_describe(self):
        found = stats.per_color(json.dumps(V7), "shop_test_blue_1")
        assert stats.describe(found) == "blue 15 requests, 5 failed; green 1 requests, 1 failed"
        assert stats.describe({"error": "x: exit 1"}) == "could not read: x: exit 1"


class TestConfig:
    """[status] names each instance's varnishd -n, or borrows watch.log_names."""

    def test_defaults(self):
        cfg = optional.status({"names": {"127.0.0.1:6082": "web1"}}, None)
        assert cfg.stat_command == ("varnishstat", "-1", "-j", "-n", "{name}", "-f", "VBE.{vcl}.*")
        assert (cfg.names, cfg.timeout_s) == ({"127.0.0.1:6082": "web1"}, 5)
        plain = ("varnishstat", "-1", "-j", "-f", "VBE.{vcl}.*")
        assert optional.status({"timeout_s": 2}, None).stat_command == plain
        assert optional.status(None, None) is None
        assert optional.status({}, None).stat_command == plain

    def test_names_from_watch(self):
        watch = optional.watch({"log_names": {"127.0.0.1:6082": "web1"}})
        assert optional.status({"timeout_s": 3}, watch).names == {"127.0.0.1:6082": "web1"}

    @pytest.mark.parametrize("raw, message", [
        ({"names": ["web1"]}, "status.names: should be a table"),
        ({"stat_command": ["varnishstat", "-n", "{name}"]}, "uses {name} but status.names is not set"),
        ({"stat_command": ["ssh", "{hots}"]}, "status.stat_command: unknown placeholder {hots}"),
        ({"stat_command": "varnishstat"}, "status.stat_command: should be a list"),
        ({"timeout_s": 0}, "status.timeout_s: should be a number of seconds"),
        ({"counters": True}, "status.counters: unknown key"),
    ])
    def test_bad(self, raw, message):
        with pytest.raises(ConfigError) as err:
            optional.status(raw, None)
        assert message in err.value.message

    def test_argv_per_instance(self):
        cfg = optional.status({"stat_command": ["ssh", "{host}", "varnishstat", "-n", "{name}", "-j"],
                               "names": {"10.0.0.5:6082": "web1"}}, None)
        from bluegreen import commands

        argv = commands.for_instance(cfg.stat_command, Address("10.0.0.5", 6082), cfg.names,
                                     "status.names")
        assert argv == ["ssh", "10.0.0.5", "varnishstat", "-n", "web1", "-j"]
        with pytest.raises(ConfigError) as err:
            commands.for_instance(cfg.stat_command, Address("10.0.0.6", 6082), cfg.names,
                                  "status.names")
        assert 'status.names: has no varnishd -n name for 10.0.0.6:6082' in err.value.message
