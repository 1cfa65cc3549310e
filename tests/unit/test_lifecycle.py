"""Readiness rules and the catalogue diff: pure decisions, no Varnish, no database."""

from __future__ import annotations

from bluegreen.records import lifecycle
from bluegreen.records.plan import Expand, Plan
from bluegreen.records.state import State
from bluegreen.schema import catalogue


def raw(readiness="hot", migrations=(), at="2026-11-29T10:00:00.000Z") -> dict:
    return {"schema": 1, "live": "green", "previous": "blue",
            "colors": {"blue": {"release": "1.0.0", "vcl": "shop_t_blue_1", "readiness": readiness},
                       "green": {"release": "2.0.0", "vcl": "shop_t_green_1", "readiness": "live"}},
            "migrations": list(migrations), "switch": {"at": at}, "history": []}


def typed(data: dict) -> State:
    return State.read(data, "shop", "t", "the test's record")


def state(*args, **kw) -> State:
    return typed(raw(*args, **kw))


class TestRollbackAction:
    """What a rollback would do, by the previous color's readiness."""

    def test_hot_is_one_vcl_use(self):
        action = lifecycle.rollback_action(state("hot"))
        assert action.action == "switch" and action.color == "blue"

    def test_a_record_without_readiness_counts_the_previous_color_hot(self):
        old = raw()
        del old["colors"]["blue"]["readiness"]
        assert lifecycle.rollback_action(typed(old)).action == "switch"

    def test_retired_redeploys_and_says_it_takes_longer(self):
        action = lifecycle.rollback_action(state("retired"))
        assert action.action == "redeploy"
        assert "takes as long as a deploy" in action.why and "1.0.0" in action.why

    def test_contracted_refuses_naming_release_and_time(self):
        done = {"phase": "contract", "release": "2.0.0", "at": "2026-11-29T11:00:00.000Z"}
        action = lifecycle.rollback_action(state("contracted", [done]))
        assert action.action == "refuse"
        assert "contracted for release 2.0.0 at 2026-11-29T11:00:00.000Z" in action.why
        assert "roll forward" in action.why

    def test_nothing_recorded(self):
        assert lifecycle.rollback_action(None).action == "nothing"


class TestRetireRules:
    """The rollback window, stray instances and idempotent records."""

    def test_window_left(self):
        s = state(at="2026-11-29T10:00:00.500Z")
        start = lifecycle.parse_at("2026-11-29T10:00:00.500Z")
        assert lifecycle.window_left(s, 60, start + 10) == 50
        assert lifecycle.window_left(s, 60, start + 61) < 0
        assert lifecycle.window_left(State("shop", "t"), 60, start) is None

    def test_stray_instances_are_those_not_serving_the_live_vcl(self):
        s = state()
        actives = {"a": "shop_t_green_1", "b": "shop_t_blue_1", "c": None}
        assert lifecycle.stray_instances(s, actives) == {"b": "shop_t_blue_1", "c": None}

    def test_migration_recorded_once(self):
        s = state().with_migration("contract", "2.0.0", "t1")
        s = s.with_migration("contract", "2.0.0", "t2")
        assert [m.to_json() for m in s.migrations] == [{"phase": "contract", "release": "2.0.0", "at": "t1"}]

    def test_expand_of_a_plan_joins_the_state_after_its_switch(self):
        plan = Plan("id", "shop", "t", "blue", release="2.0.0", expand=Expand("2.0.0", True, "t"))
        s = state().with_expand(plan.expand, plan.release)
        assert [m.to_json() for m in s.migrations] == [{"phase": "expand", "release": "2.0.0", "at": "t"}]
        plan.expand = Expand("2.0.0", False)
        assert state().with_expand(plan.expand, plan.release).migrations == []


class TestCatalogueLost:
    """What an expand took away from the live release."""

    before = catalogue.normalise({"people": {"id": "integer", "name": "text"}})

    def test_adding_is_fine(self):
        after = catalogue.normalise({"people": {"id": "integer", "name": "text", "full_name": "text"},
                                     "pets": {"id": "integer"}})
        assert catalogue.lost(self.before, after) == []

    def test_drop_rename_retype_are_named(self):
        after = catalogue.normalise({"people": {"id": "bigint", "full_name": "text"}})
        assert catalogue.lost(self.before, after) == [
            "column people.id was retyped from integer to bigint",
            "column people.name was dropped or renamed"]
        assert catalogue.lost(self.before, {}) == ["table people was dropped or renamed"]

    def test_a_new_not_null_column_without_default_breaks_old_inserts(self):
        after = catalogue.normalise({"people": {
            "id": "integer", "name": "text",
            "full_name": {"type": "text", "nullable": False, "default": False}}})
        found = catalogue.lost(self.before, after)
        assert "people.full_name was added NOT NULL without a default" in found[0]


class TestScrub:
    """A database URL's password never shows in progress or messages."""

    def test_password_left_out(self):
        assert catalogue.scrub("postgresql://app:s3cret@db:5432/shop") == "postgresql://app:***@db:5432/shop"
        shown = catalogue.scrub("--url=postgresql+psycopg://a:b@c/d x")
        assert shown == "--url=postgresql+psycopg://a:***@c/d x"
        assert catalogue.scrub("postgresql://app@db/shop") == "postgresql://app@db/shop"
