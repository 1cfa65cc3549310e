"""Pure decisions: live and passive, drift, the state after a switch."""

from __future__ import annotations

import pytest

from bluegreen.errors import Drift
from bluegreen.records.decide import decide, instance_colors, varnish_live
from bluegreen.records.state import ColorInfo, State


class TestDecide:
    """Varnish is the truth; a record that disagrees is drift."""

    def test_first_release_blue_goes_first(self):
        assert decide("prod", None, None, "the record") == (None, "blue")

    def test_live_green_means_blue_is_passive(self):
        assert decide("prod", "green", State("shop", "prod", live="green"), "the record") == ("green", "blue")

    def test_disagreement_is_drift_with_both_sides(self):
        with pytest.raises(Drift, match="green is live on Varnish but the record says blue"):
            decide("prod", "green", State("shop", "prod", live="blue"), "the record")

    def test_instances_serving_different_colors(self):
        colors = instance_colors("shop", "prod", {"a:1": "shop_prod_blue_0000aaaa",
                                                  "b:1": "boot"})
        with pytest.raises(Drift, match="b:1 serves a VCL not made by bluegreen"):
            varnish_live("prod", colors)


class TestAfterSwitch:
    """The state after a switch, and recording the same switch twice."""

    def test_records_live_previous_and_history_once(self):
        kw = dict(to="green", release="1.5.0", now={"a:1": "g", "b:1": "g"},
                  before={"a:1": "b", "b:1": "b"}, window_ms=0.4, instances=2, forced=False,
                  action="switch", build={"number": 7, "url": None}, key="plan-1")
        before = State("shop", "prod", live="blue", colors={"blue": ColorInfo("1.4")})
        state = before.switched(**kw)
        assert (state.live, state.previous) == ("green", "blue")
        assert state.colors["green"] == ColorInfo("1.5.0", "g", "live")
        assert state.colors["blue"] == ColorInfo("1.4", "b", "hot")
        assert state.switch.window_ms == 0.4 and state.build_number == 7
        assert before.live == "blue" and before.colors["blue"].vcl is None, "a new State, not a change"
        again = state.switched(**kw)
        assert len(again.history) == 1

    def test_the_previous_color_keeps_exactly_what_each_instance_served(self):
        """Issue 20: the rollback target is the VCL that was live, not one rendered for the new
        release; per instance when they served different ones."""
        before = State("shop", "prod", live="blue", colors={"blue": ColorInfo("1.4", "b-new")})
        state = before.switched(to="green", release="1.5.0", now={"a:1": "g", "b:1": "g"},
                                before={"a:1": "b-old", "b:1": "b-odd"}, window_ms=0.4, instances=2,
                                forced=False, action="switch", build=None, key="plan-1")
        blue = state.colors["blue"]
        assert (blue.vcl_on("a:1"), blue.vcl_on("b:1")) == ("b-old", "b-odd")
        assert state.colors["green"] == ColorInfo("1.5.0", "g", "live")
