"""The state and plan records: stamped with the writer's version, checked whole when read."""

from __future__ import annotations

import re

import pytest

from bluegreen import __version__
from bluegreen.errors import BadRecord, Refused, UsageError
from bluegreen.records.files import read_plan, read_state
from bluegreen.records.state import WRITER_KEY, stamp


def state(**kw):
    return {"schema": 1, "app": "shop", "stage": "prod", "live": "green", "previous": "blue",
            "colors": {"blue": {"release": "1.0", "vcl": "shop_prod_blue_a", "readiness": "hot"},
                       "green": {"release": "1.1", "vcl": "shop_prod_green_b", "readiness": "live"}},
            "history": [{"at": "x", "action": "switch", "from": "blue", "to": "green"}], **kw}


class TestWriterVersion:
    """Every record says which bluegreen wrote it; a newer major version is refused, not misread."""

    def test_stamp(self):
        assert stamp({"a": 1})[WRITER_KEY] == __version__

    def test_same_or_older_major_reads(self):
        assert read_state(state(bluegreen_version="0.1.0"), "s", "shop", "prod")

    def test_newer_major_is_refused_with_what_to_install(self):
        major = int(__version__.split(".")[0]) + 1
        with pytest.raises(UsageError, match=f"written by bluegreen {major}.0.0, a newer major") as err:
            read_state(state(bluegreen_version=f"{major}.0.0"), "s", "shop", "prod")
        assert err.value.exit_code == 2 and f"bluegreen=={major}.*" in err.value.message


class TestWhole:
    """Every part of a state is checked, with the path of the first fault."""

    @pytest.mark.parametrize("change, where", [
        ({"history": [1]}, "history[0]"), ({"colors": {"red": {}}}, "colors.red"),
        ({"migrations": [{"phase": "shrink", "release": "1"}]}, "migrations[0].phase"),
        ({"build": {"number": [1]}}, "build.number"), ({"switch": {"forced": "yes"}}, "switch.forced"),
        ({"app": "other"}, "app/stage"),
    ])
    def test_faults(self, change, where):
        with pytest.raises(BadRecord, match=re.escape(f"'{where}'")):
            read_state(state(**change), "the record", "shop", "prod")

    def test_plan_of_another_stage(self):
        plan = {"schema": 1, "app": "shop", "stage": "test", "id": "x", "passive": "blue",
                "expected": {}}
        with pytest.raises(Refused, match="this plan is for another app or stage"):
            read_plan(plan, "plan.json", "shop", "prod")
        assert read_plan(plan, "plan.json", "shop", "test").passive == "blue"
