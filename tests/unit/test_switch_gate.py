"""switch's gates: verify passed for this very release and VCL, and compare did not fail for it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.errors import Refused
from bluegreen.records.fields import Malformed
from bluegreen.records.plan import Compared, Plan, Verified
from bluegreen.steps.switch import check_compared, check_verified


def plan(**kw) -> Plan:
    return Plan("p1", "shop", "test", "green", live="blue", release="1.1.0",
                vcl={"green": "shop_test_green_1", "blue": "shop_test_blue_1"}, **kw)


FAILED = Compared("green", "1.1.0",
                  detail={"missing": [], "failures": [{"request": "GET /a", "field": "stock"}]})


class TestCompareGate:
    """switch refuses after a failed compare of this very release, unless forced."""

    def test_refuses(self):
        with pytest.raises(Refused) as err:
            check_compared(plan(compare_failed=FAILED), "test", forced=False)
        assert "compare failed for green 1.1.0 (first: GET /a stock)" in err.value.message

    def test_force_overrides(self):
        check_compared(plan(compare_failed=FAILED), "test", forced=True)

    def test_another_release_or_a_passed_compare_is_not_held_against(self):
        later = plan(compare_failed=FAILED)
        later.release = "1.2.0"
        check_compared(later, "test", forced=False)
        check_compared(plan(), "test", forced=False)

    def test_names_a_missing_change(self):
        failed = Compared("green", "1.1.0", detail={"failures": [], "missing": ["/a price"]})
        with pytest.raises(Refused, match="expected changes not seen: /a price"):
            check_compared(plan(compare_failed=failed), "test", forced=False)

    @settings(max_examples=100, deadline=None)
    @given(st.dictionaries(st.sampled_from(["failures", "missing", "counts", "live"]),
                           st.none() | st.text(max_size=5) | st.lists(st.text(max_size=5))))
    def test_any_recorded_failure_refuses_plainly_or_is_malformed(self, failed):
        """Whatever a plan file holds under compare_failed, reading it gives a checked record (and
        the gate refuses plainly) or a Malformed naming the field: never a crash in the gate."""
        data = {**plan().to_json(), "compare_failed": {**failed, "color": "green", "release": "1.1.0"}}
        try:
            read = Plan.read(data, "shop", "test", "plan.json")
        except Malformed:
            return
        with pytest.raises(Refused, match="compare failed for green 1.1.0"):
            check_compared(read, "test", forced=False)


class TestVerifyGate:
    """Only a passed verify of this release with this VCL lets the switch through."""

    def test_not_verified(self):
        with pytest.raises(Refused, match="has not passed verify"):
            check_verified(plan(), "test", forced=False)

    def test_verified_with_another_vcl(self):
        stale = plan(verified=Verified("green", "1.1.0", "shop_test_green_0"))
        with pytest.raises(Refused, match="has not passed verify"):
            check_verified(stale, "test", forced=False)

    def test_verified(self):
        check_verified(plan(verified=Verified("green", "1.1.0", "shop_test_green_1")), "test", forced=False)

    def test_nothing_deployed_is_refused_even_forced(self):
        with pytest.raises(Refused, match="nothing was deployed"):
            check_verified(Plan("p1", "shop", "test", "green"), "test", forced=True)
