"""This run's plan (OUT/S/plan.json) as a type: made by `passive`, filled in by deploy, verify,
compare and switch, read back by each of them.

    id, live, passive, expected     what `passive` saw: per instance the VCL it served (the CAS)
    previous_state                  the record the plan started from (a State)
    release, vcl, deploy            deploy: the release, both colors' VCL names, each server
    checks, verified, verify_failed verify
    compared, compare_failed        compare (its counts and failures, for the gate and the report)
    expand                          deploy's schema.expand (JSON: migration.expand)
    switched                        switch: the move and the warm-up

`Plan.read` checks every field; a plan of another app or stage, or of the wrong shape, is
Malformed. Pure: no I/O.
"""

from __future__ import annotations

import os

from bluegreen.model import COLORS, now_iso
from bluegreen.records.fields import Fields, JsonValue, Malformed, drop_none
from bluegreen.records.state import SCHEMA, State, check_writer


class Verified(JsonValue):
    """verify passed for this release on this color with this VCL."""

    def __init__(self, color: str, release: str, vcl: str | None, at: str | None = None):
        self.color = color
        self.release = release
        self.vcl = vcl
        self.at = at

    @classmethod
    def read(cls, f: Fields) -> Verified:
        return cls(f.need_color("color"), f.text("release"), f.vcl("vcl"),
                   f.opt_text("at"))

    def to_json(self) -> dict:
        return {"color": self.color, "release": self.release, "vcl": self.vcl, "at": self.at}


class VerifyFailed(JsonValue):
    def __init__(self, color: str, release: str, failed: list[str] | None = None):
        self.color = color
        self.release = release
        self.failed = [] if failed is None else failed

    @classmethod
    def read(cls, f: Fields) -> VerifyFailed:
        return cls(f.need_color("color"), f.text("release"), f.texts("failed"))

    def to_json(self) -> dict:
        return {"color": self.color, "release": self.release, "failed": self.failed}


class Compared(JsonValue):
    """A compare of this release on this color: its gate facts typed, the rest (counts,
    failures, expected changes, for the report) as the JSON compare wrote, checked."""

    def __init__(self, color: str, release: str, vcl: str | None = None, at: str | None = None,
                 detail: dict | None = None):
        self.color = color
        self.release = release
        self.vcl = vcl
        self.at = at
        self.detail = {} if detail is None else detail

    FIELDS = ("color", "release", "vcl", "at")

    @classmethod
    def read(cls, f: Fields) -> Compared:
        f.color("live")
        f.opt_text("live_release")
        f.number("seconds")
        f.proses("missing")
        counts = f.object("counts")
        for key in (counts.data if counts else {}):
            counts.whole(key)
        for entry in f.objects("failures"):
            for key in ("request", "field", "why", "live", "passive", "expected"):
                entry.prose(key)
        for entry in f.objects("expected"):
            for key in ("path", "field", "reason"):
                entry.prose(key)
            entry.proses("seen_on")
        detail = {k: v for k, v in f.data.items() if k not in cls.FIELDS}
        return cls(f.need_color("color"), f.text("release"), f.vcl("vcl"),
                   f.opt_text("at"), detail)

    def to_json(self) -> dict:
        return {"color": self.color, "release": self.release, "vcl": self.vcl, "at": self.at,
                **self.detail}

    @property
    def failures(self) -> list[dict]:
        return self.detail.get("failures") or []

    @property
    def missing(self) -> list[str]:
        return self.detail.get("missing") or []


class Expand(JsonValue):
    """deploy's schema.expand for a release: ran (ok), failed (detail), skipped, or refused
    because it took away what the live release uses (lost)."""

    def __init__(self, release: str, ok: bool, at: str | None = None, detail: str | None = None,
                 seconds: float | None = None, checked: bool | None = None, skipped: bool | None = None,
                 lost: list[str] | None = None):
        self.release = release
        self.ok = ok
        self.at = at
        self.detail = detail
        self.seconds = seconds
        self.checked = checked
        self.skipped = skipped
        self.lost = [] if lost is None else lost

    @classmethod
    def read(cls, f: Fields) -> Expand:
        return cls(f.text("release"), bool(f.flag("ok")), f.opt_text("at"),
                   f.prose("detail"), f.number("seconds"), f.flag("checked"), f.flag("skipped"),
                   [item for item in f.texts("lost")])

    def to_json(self) -> dict:
        return drop_none({"release": self.release, "ok": self.ok, "at": self.at, "detail": self.detail,
                          "seconds": self.seconds, "checked": self.checked, "skipped": self.skipped,
                          "lost": self.lost or None})


class Switched(JsonValue):
    """switch made `vcl` live (or found it live): the window, the instances, the warm-up."""

    def __init__(self, to: str, vcl: str | None, window_ms: float | None = None,
                 instances: int | None = None, forced: bool = False, at: str | None = None,
                 warmup: dict | None = None):
        self.to = to
        self.vcl = vcl
        self.window_ms = window_ms
        self.instances = instances
        self.forced = forced
        self.at = at
        self.warmup = warmup

    @classmethod
    def read(cls, f: Fields) -> Switched:
        warmup = f.object("warmup")
        if warmup is not None:
            for key in ("warmed", "requests", "instances", "failed", "not_sent"):
                warmup.whole(key)
            warmup.number("seconds")
            warmup.prose("first_failure")
        return cls(f.need_color("to"), f.vcl("vcl"), f.number("window_ms"), f.whole("instances"),
                   bool(f.flag("forced")), f.opt_text("at"),
                   None if warmup is None else warmup.data)

    def to_json(self) -> dict:
        return {"to": self.to, "vcl": self.vcl, "window_ms": self.window_ms, "instances": self.instances,
                "forced": self.forced, "at": self.at, "warmup": self.warmup}


class Plan(JsonValue):
    def __init__(self, id: str, app: str, stage: str, passive: str, live: str | None = None,
                 created: str | None = None, expected: dict[str, str | None] = None,
                 previous_state: State | None = None, release: str | None = None,
                 vcl: dict[str, str] | None = None, deploy: list[dict] | None = None,
                 checks: list[dict] | None = None, verified: Verified | None = None,
                 verify_failed: VerifyFailed | None = None, compared: Compared | None = None,
                 compare_failed: Compared | None = None, expand: Expand | None = None,
                 switched: Switched | None = None):
        self.id = id
        self.app = app
        self.stage = stage
        self.passive = passive
        self.live = live
        self.created = created
        self.expected = {} if expected is None else expected
        self.previous_state = previous_state
        self.release = release
        self.vcl = {} if vcl is None else vcl
        self.deploy = [] if deploy is None else deploy
        self.checks = [] if checks is None else checks
        self.verified = verified
        self.verify_failed = verify_failed
        self.compared = compared
        self.compare_failed = compare_failed
        self.expand = expand
        self.switched = switched

    @classmethod
    def new(cls, app: str, stage: str, live: str | None, passive: str, actives: dict,
            state: State | None) -> Plan:
        return cls(os.urandom(6).hex(), app, stage, passive, live, now_iso(), dict(actives), state)

    # -- reading and writing ---------------------------------------------------------------------
    @classmethod
    def read(cls, data, app: str, stage: str, source: str) -> Plan:
        f = Fields(data, "")
        if data.get("schema") != SCHEMA:
            raise Malformed("schema", str(SCHEMA), data.get("schema"))
        check_writer(data, source)
        if data.get("app") != app or data.get("stage") != stage:
            raise Malformed("app/stage", f"{app!r} {stage!r} (this plan is for another app or stage)",
                            f"{data.get('app')!r} {data.get('stage')!r}")
        expected = f.mapping("expected") if data.get("expected") is not None else \
            _need(f, "expected", "an object")
        for inst, name in expected.items():
            if name is not None and not isinstance(name, str):
                raise Malformed(f"expected.{inst}", "a VCL name or null", name)
        previous = f.object("previous_state")
        vcls = f.mapping("vcl")
        for color, name in vcls.items():
            if color not in COLORS:
                raise Malformed(f"vcl.{color}", "a VCL name for blue or green", name)
            Fields(vcls, "vcl").need_vcl(color)
        migration = f.object("migration")
        expand = migration.object("expand") if migration is not None else None
        return cls(
            f.text("id"), app, stage, f.need_color("passive"), f.color("live"),
            f.opt_text("created"), dict(expected),
            None if previous is None else State.read(previous.data, app, stage, source),
            f.opt_text("release"), dict(vcls), _deploy(f), _checks(f),
            _maybe(Verified, f.object("verified")), _maybe(VerifyFailed, f.object("verify_failed")),
            _maybe(Compared, f.object("compared")), _maybe(Compared, f.object("compare_failed")),
            _maybe(Expand, expand), _maybe(Switched, f.object("switched")))

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA, "id": self.id, "app": self.app, "stage": self.stage,
            "created": self.created, "live": self.live, "passive": self.passive,
            "expected": dict(self.expected),
            "previous_state": self.previous_state.to_json() if self.previous_state else None,
            "release": self.release, "vcl": dict(self.vcl), "deploy": self.deploy or None,
            "checks": self.checks or None,
            "verified": _json(self.verified), "verify_failed": _json(self.verify_failed),
            "compared": _json(self.compared), "compare_failed": _json(self.compare_failed),
            "switched": _json(self.switched),
            **({"migration": {"expand": self.expand.to_json()}} if self.expand else {}),
        }

    # -- what it says ----------------------------------------------------------------------------
    @property
    def target_vcl(self) -> str | None:
        """The VCL the passive color goes live with (None before deploy)."""
        return self.vcl.get(self.passive)

    @property
    def live_release(self) -> str | None:
        return self.previous_state.release_of(self.live) if self.previous_state else None


def _need(f: Fields, key: str, expected: str):
    raise Malformed(f.path(key), expected, f.data.get(key))


def _deploy(f: Fields) -> list[dict]:
    for entry in f.objects("deploy"):
        entry.text("server")
        entry.flag("ok")
        entry.prose("detail")
    return f.items("deploy")


def _checks(f: Fields) -> list[dict]:
    for entry in f.objects("checks"):
        entry.need_prose("name")
        entry.flag("ok")
        entry.prose("detail")
        entry.number("seconds")
        entry.opt_text("group")
        entry.flag("skipped")
    return f.items("checks")


def _maybe(kind, f: Fields | None):
    return None if f is None else kind.read(f)


def _json(value) -> dict | None:
    return None if value is None else value.to_json()
