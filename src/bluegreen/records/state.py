"""The state artifact (OUT/S/state.json) as a type: what is live, each color's release, VCL and
readiness, the last switch, the migrations, the history, the last watch.

`State.read` checks every field of the JSON and gives a typed State, or raises Malformed naming
the path of the first fault; `to_json` writes the same shape back (docs/steps.md, DESIGN.md).
Changes make a new State (`switched`, `with_readiness`, `with_migration`, `with_event`), so the
plan's copy of the state a run started from never changes under it. Pure: no I/O.
"""

from __future__ import annotations

import copy
import re

from bluegreen import __version__
from bluegreen.errors import UsageError
from bluegreen.model import COLORS, now_iso
from bluegreen.records.fields import Fields, JsonValue, Malformed, drop_none
from bluegreen.records.watch_record import read_watch

SCHEMA = 1
WRITER_KEY = "bluegreen_version"
READINESS = ("live", "hot", "retired", "contracted")
PHASES = ("expand", "contract")
HISTORY_KEPT, MIGRATIONS_KEPT = 50, 100


class ColorInfo(JsonValue):
    """What one color runs: its release, its VCL (the one it went live with) and its readiness.
    `served` is set when its instances served it with different VCLs: {instance: VCL}, so a
    rollback makes live exactly what each instance served before."""

    def __init__(self, release: str | None = None, vcl: str | None = None, readiness: str | None = None,
                 served: dict[str, str] | None = None):
        self.release = release
        self.vcl = vcl
        self.readiness = readiness
        self.served = served

    @classmethod
    def read(cls, f: Fields) -> ColorInfo:
        served = f.object("served")
        if served is not None:
            for inst in served.data:
                served.need_vcl(inst)
        return cls(f.opt_text("release"), f.vcl("vcl"), f.opt_choice("readiness", READINESS),
                   None if served is None else dict(served.data))

    def to_json(self) -> dict:
        return drop_none({"release": self.release, "vcl": self.vcl, "readiness": self.readiness,
                          "served": self.served})

    def vcl_on(self, instance: str) -> str | None:
        """The VCL this color is served with on one instance."""
        return (self.served or {}).get(instance) or self.vcl


class Switch(JsonValue):
    """The last move of the stage: when, its window, on how many instances, forced or not."""

    def __init__(self, at: str | None = None, window_ms: float | None = None, instances: int | None = None,
                 forced: bool | None = None):
        self.at = at
        self.window_ms = window_ms
        self.instances = instances
        self.forced = forced

    @classmethod
    def read(cls, f: Fields) -> Switch:
        return cls(f.moment("at"), f.number("window_ms"), f.whole("instances"), f.flag("forced"))

    def to_json(self) -> dict:
        return {"at": self.at, "window_ms": self.window_ms, "instances": self.instances,
                "forced": self.forced}


class Build(JsonValue):
    def __init__(self, number: int | str | None = None, url: str | None = None):
        self.number = number
        self.url = url

    @classmethod
    def read(cls, f: Fields) -> Build:
        return cls(f.build_number("number"), f.opt_text("url"))

    def to_json(self) -> dict:
        return {"number": self.number, "url": self.url}


class Migration(JsonValue):
    """A schema phase for a release (expand in deploy, contract in retire). `finished` is False
    while it runs: a contract recorded as started and never finished (failed, killed) counts as
    done for rollback, since part of it may have run. Records before it existed: finished."""

    def __init__(self, phase: str, release: str, at: str | None = None, finished: bool = True):
        self.phase = phase
        self.release = release
        self.at = at
        self.finished = finished

    @classmethod
    def read(cls, f: Fields) -> Migration:
        return cls(f.choice("phase", PHASES), f.text("release"), f.opt_text("at"),
                   f.flag("finished") is not False)

    def to_json(self) -> dict:
        return {"phase": self.phase, "release": self.release, "at": self.at,
                **({} if self.finished else {"finished": False})}


class Event(JsonValue):
    """One history entry: a switch, rollback, adopt, retire or contract. `to` is set by the
    actions that changed what is live; `key` makes recording the same move twice a no-op."""

    def __init__(self, at: str | None, action: str, from_: str | None = None, to: str | None = None,
                 release: str | None = None, build: int | str | None = None, forced: bool | None = None,
                 key: str | None = None, reason: str | None = None):
        self.at = at
        self.action = action
        self.from_ = from_
        self.to = to
        self.release = release
        self.build = build
        self.forced = forced
        self.key = key
        self.reason = reason

    @classmethod
    def read(cls, f: Fields) -> Event:
        return cls(f.opt_text("at"), f.text("action"), f.color("from"), f.color("to"),
                   f.opt_text("release"), f.build_number("build"), f.flag("forced"),
                   f.opt_text("key"), f.prose("reason"))

    def to_json(self) -> dict:
        return {"at": self.at, "action": self.action, "from": self.from_, "to": self.to,
                "release": self.release, "build": self.build,
                **drop_none({"forced": self.forced, "key": self.key, "reason": self.reason})}


class State(JsonValue):
    """The stage's record: what is live and previous, each color, the last switch, the schema's
    migrations, the history, the last watch's verdict (`watch`, checked whole by
    watch_record.py), the `generation` (one above the record this one replaced; 0 before
    generations existed) and the shared database's `catalogue` when the live release went live."""

    def __init__(self, app: str, stage: str, live: str | None = None, previous: str | None = None,
                 colors: dict[str, ColorInfo] | None = None, migrations: list[Migration] | None = None,
                 switch: Switch | None = None, build: Build | None = None,
                 history: list[Event] | None = None, watch: dict | None = None, generation: int = 0,
                 catalogue: dict | None = None):
        self.app, self.stage, self.live, self.previous = app, stage, live, previous
        self.colors = {} if colors is None else colors
        self.migrations = [] if migrations is None else migrations
        self.switch, self.build = switch, build
        self.history = [] if history is None else history
        self.watch, self.generation, self.catalogue = watch, generation, catalogue

    # -- reading and writing ---------------------------------------------------------------------
    @classmethod
    def read(cls, data, app: str, stage: str, source: str) -> State:
        """The record checked whole; Malformed naming the first fault, UsageError when a newer
        major version of bluegreen wrote it."""
        f = Fields(data, "")
        if data.get("schema") != SCHEMA:
            raise Malformed("schema", str(SCHEMA), data.get("schema"))
        check_writer(data, source)
        if data.get("app") not in (None, app) or data.get("stage") not in (None, stage):
            raise Malformed("app/stage", f"{app!r} {stage!r}",
                            f"{data.get('app')!r} {data.get('stage')!r}")
        colors = {}
        for color, info in f.mapping("colors").items():
            if color not in COLORS:
                raise Malformed(f"colors.{color}", "blue or green", color)
            colors[color] = ColorInfo.read(Fields(info, f"colors.{color}"))
        state = cls(app, stage, f.color("live"), f.color("previous"), colors,
                    [Migration.read(m) for m in f.objects("migrations")],
                    _maybe(Switch, f.object("switch")), _maybe(Build, f.object("build")),
                    [Event.read(e) for e in f.objects("history")],
                    read_watch(f.object("watch")), f.whole("generation") or 0,
                    _catalogue(f.object("catalogue")))
        if state.live is not None and state.live == state.previous:
            raise Malformed("previous", f"the other color than live ({state.live}) or null", state.previous)
        return state

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "app": self.app, "stage": self.stage, "live": self.live,
                "previous": self.previous,
                "colors": {c: info.to_json() for c, info in self.colors.items()},
                "migrations": [m.to_json() for m in self.migrations],
                "switch": self.switch.to_json() if self.switch else None,
                "generation": self.generation,
                "build": self.build.to_json() if self.build else None,
                "history": [e.to_json() for e in self.history],
                **({"watch": self.watch} if self.watch is not None else {}),
                **({"catalogue": self.catalogue} if self.catalogue is not None else {})}

    # -- what it says ----------------------------------------------------------------------------
    def color(self, color: str | None) -> ColorInfo:
        """The recorded facts of a color (empty when none are recorded)."""
        return self.colors.get(color or "") or ColorInfo()

    def release_of(self, color: str | None) -> str | None:
        return self.color(color).release

    def vcl_of(self, color: str | None) -> str | None:
        return self.color(color).vcl

    def readiness_of(self, color: str | None) -> str | None:
        """The recorded readiness of a color; a previous color recorded before readiness was is hot."""
        if not color:
            return None
        if self.color(color).readiness:
            return self.color(color).readiness
        return "live" if color == self.live else "hot" if color == self.previous else None

    @property
    def last(self) -> Event | None:
        return self.history[-1] if self.history else None

    def went_live(self) -> Event | None:
        """The history entry that made the live color live (a switch, a rollback, an adopt;
        later entries such as a retire move nothing)."""
        return next((e for e in reversed(self.history) if e.to), None)

    def current_watch(self) -> dict | None:
        """The finished watch of the move that made the live color live (or of the rollback it
        made); None when the recorded watch is of an earlier switch, or unfinished."""
        record = self.watch
        if not record or not record.get("finished"):
            return None
        went = self.went_live()
        rollback = record.get("rollback") or {}
        keys = (record.get("switch_key"), rollback.get("key"))
        if went is None or went.key is None or went.key not in keys:
            return None
        return record

    def migration(self, phase: str, release: str | None = None) -> Migration | None:
        """The newest migration of `phase` recorded (for `release`, when given)."""
        found = [m for m in self.migrations if m.phase == phase and release in (None, m.release)]
        return found[-1] if found else None

    # -- changes: each gives a new State ---------------------------------------------------------
    def copy(self) -> State:
        return copy.deepcopy(self)

    def switched(self, *, to: str, release: str | None, now: dict[str, str],
                 before: dict[str, str | None], window_ms: float, instances: int, forced: bool,
                 action: str, build: dict | None, key: str, reason: str | None = None) -> State:
        """The state once `to` went live: `now` is what each instance serves since, `before`
        what it served until then (the previous color's VCL is exactly that, so a rollback makes
        it live again). `key` makes recording the same move twice a no-op."""
        if any(e.key == key for e in self.history):
            return self
        new, at, was = self.copy(), now_iso(), self.live
        target = new.colors.setdefault(to, ColorInfo())
        target.vcl, target.served = _served(now)
        if release is not None:
            target.release = release
        target.readiness = "live"
        if was != to:
            if was:
                old = new.colors.setdefault(was, ColorInfo())
                old.readiness = "hot"
                if all(before.values()):
                    old.vcl, old.served = _served(before)
            new.previous = was
        new.live = to
        new.switch = Switch(at, round(window_ms, 3), instances, forced)
        new.build = _build(build)
        return new.with_event(Event(at, action, was, to, target.release, new.build_number, forced,
                                    key, reason))

    def adopted(self, served: str | None, vcl: str | None, reason: str, build: dict | None) -> State:
        """The state recording what Varnish serves as the truth (after drift)."""
        new, was = self.copy(), self.live
        if served != was:
            new.previous = was
            if was and new.colors.get(was) and new.colors[was].readiness == "live":
                new.colors[was].readiness = "hot"  # it served until now; rollback checks it anyway
        new.live = served
        if served:
            info = new.colors.setdefault(served, ColorInfo())
            info.vcl, info.served, info.readiness = vcl, None, "live"
        new.build = _build(build)
        return new.with_event(Event(now_iso(), "adopt", was, served, build=new.build_number, reason=reason))

    def with_readiness(self, color: str, value: str) -> State:
        new = self.copy()
        new.colors.setdefault(color, ColorInfo()).readiness = value
        return new

    def with_migration(self, phase: str, release: str, at: str | None, finished: bool = True) -> State:
        """The state with this migration recorded once: a second record of it is a no-op, except
        that a started one is then recorded finished."""
        found = self.migration(phase, release)
        if found is not None and (found.finished or not finished):
            return self
        kept = [m for m in self.migrations if m is not found]
        entry = Migration(phase, release, found.at if found else at, finished)
        return self.updated(migrations=[*kept, entry][-MIGRATIONS_KEPT:])

    def with_expand(self, done, release: str | None) -> State:
        """The state with a plan's expand (`done`, a records.plan.Expand) in its migrations, when
        it ran clean for `release` (the release that went live)."""
        if done is None or not done.ok or done.release != release:
            return self
        return self.with_migration("expand", done.release, done.at)

    def with_event(self, event: Event) -> State:
        return self.updated(history=[*self.history, event][-HISTORY_KEPT:])

    def with_build(self, build: dict | None) -> State:
        return self.updated(build=_build(build))

    @property
    def build_number(self) -> int | str | None:
        return self.build.number if self.build else None


def check_writer(data: dict, source: str) -> None:
    """Refuse a record written by a newer major version: its shape may mean something else."""
    written = data.get(WRITER_KEY)
    if written is None:
        return
    if not isinstance(written, str) or not re.fullmatch(r"\d{1,9}(\.\d{1,9}){0,3}[!-~]{0,64}", written):
        raise Malformed(WRITER_KEY, "a version string", written)
    if _major(written) > _major(__version__):
        raise UsageError(f"{source} was written by bluegreen {written}, a newer major version than "
                         f"this bluegreen {__version__}: install bluegreen {_major(written)}.x on "
                         "this agent (pip install 'bluegreen==" + f"{_major(written)}.*')")


def stamp(record: dict) -> dict:
    """The record's JSON with the version of bluegreen that writes it."""
    return {**record, WRITER_KEY: __version__}


def _major(version: str) -> int:
    return int(re.match(r"\d+", version).group(0))


def _maybe(kind, f: Fields | None):
    return None if f is None else kind.read(f)


def _catalogue(f: Fields | None) -> dict | None:
    """{table: {column: {"type", "nullable", "default"}}}, checked whole."""
    if f is None:
        return None
    for table in f.data:
        columns = f.object(table)
        if columns is None:
            raise Malformed(f.path(table), "an object of columns", None)
        for column in columns.data:
            spec = columns.object(column)
            if spec is None:
                raise Malformed(columns.path(column), "a column", None)
            spec.text("type")
            spec.flag("nullable")
            spec.flag("default")
    return f.data


def _served(per_instance: dict) -> tuple[str | None, dict[str, str] | None]:
    """(the VCL every instance serves, None) or, when they differ, (the first, {instance: VCL})."""
    names = list(per_instance.values())
    if len(set(names)) <= 1:
        return (names[0] if names else None), None
    return names[0], dict(per_instance)


def _build(build: dict | None) -> Build | None:
    return Build(build.get("number"), build.get("url")) if build else None
