"""The shapes of the two records bluegreen reads back: the state artifact and the plan.

Both are checked whole when read, wherever they come from (a file, a Jenkins artifact), so that no
step acts on a value it did not check: a malformed record is refused before anything live changes.
Pure: no I/O.
"""

from __future__ import annotations

import re

from bluegreen import __version__
from bluegreen.config.values import finite, show
from bluegreen.errors import DependencyError, Refused, UsageError

SCHEMA = 1
COLORS = ("blue", "green")
READINESS = ("live", "hot", "retired", "contracted")
PHASES = ("expand", "contract")
WRITER_KEY = "bluegreen_version"
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{0,512}")
_VCL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,199}")


class Malformed(Exception):
    """One fault in a record: where (a dotted path) and what was expected."""

    def __init__(self, where: str, expected: str, found):
        super().__init__(f"'{show(where)}' is {_show(found)}, expected {expected}")


def stamp(record: dict) -> dict:
    """The record with the version of bluegreen that writes it."""
    return {**record, WRITER_KEY: __version__}


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


def validate_state(data, source: str, app: str, stage: str) -> dict:
    """The state artifact, checked whole; DependencyError naming the source and the fault."""
    try:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise DependencyError(f"{source} is not bluegreen state (schema {found!r}, expected "
                                  f"{SCHEMA}): fix or remove it, then run 'adopt --stage {stage}'")
        check_writer(data, source)
        _state(data, app, stage)
    except Malformed as fault:
        raise DependencyError(f"{source} is not valid bluegreen state: {fault}; fix or remove it, "
                              f"then run 'adopt --stage {stage} --reason ...' to record what "
                              "Varnish serves") from None
    return data


def validate_plan(data, source: str, app: str, stage: str) -> dict:
    """This run's plan, checked whole; Refused (plan again) when it is not one of ours."""
    try:
        if not isinstance(data, dict):
            raise Malformed("(top level)", "an object", data)
        if data.get("schema") != SCHEMA:
            raise Malformed("schema", str(SCHEMA), data.get("schema"))
        check_writer(data, source)
        _plan(data, app, stage)
    except Malformed as fault:
        raise Refused(f"{source} is not a usable plan: {fault}; run 'passive --stage {stage}' "
                      "to plan again") from None
    return data


# -- the state -----------------------------------------------------------------------------------

def _state(data: dict, app: str, stage: str) -> None:
    if data.get("app") not in (None, app) or data.get("stage") not in (None, stage):
        raise Malformed("app/stage", f"{app!r} {stage!r}", f"{data.get('app')!r} {data.get('stage')!r}")
    for key in ("live", "previous"):
        _color(data, key, key, nullable=True)
    colors = _object(data, "colors", "colors")
    for color, info in colors.items():
        if color not in COLORS:
            raise Malformed(f"colors.{color}", "blue or green", color)
        _color_info(info, f"colors.{color}")
    for n, entry in enumerate(_list(data, "migrations", "migrations")):
        where = f"migrations[{n}]"
        _need_object(entry, where)
        _choice(entry, "phase", f"{where}.phase", PHASES)
        _text(entry, "release", f"{where}.release")
        _text(entry, "at", f"{where}.at", nullable=True)
    _switch(data.get("switch"), "switch")
    _build(data.get("build"), "build")
    for n, entry in enumerate(_list(data, "history", "history")):
        _history(entry, f"history[{n}]")
    if data.get("watch") is not None:
        _need_object(data["watch"], "watch")


def _color_info(info, where: str) -> None:
    _need_object(info, where)
    _text(info, "release", f"{where}.release", nullable=True)
    vcl = info.get("vcl")
    if vcl is not None and not (isinstance(vcl, str) and _VCL.fullmatch(vcl)):
        raise Malformed(f"{where}.vcl", "a VCL name", vcl)
    if info.get("readiness") is not None:
        _choice(info, "readiness", f"{where}.readiness", READINESS)


def _switch(value, where: str) -> None:
    if value is None:
        return
    _need_object(value, where)
    _text(value, "at", f"{where}.at", nullable=True)
    _number(value, "window_ms", f"{where}.window_ms")
    _whole(value, "instances", f"{where}.instances")
    _flag(value, "forced", f"{where}.forced")


def _build(value, where: str) -> None:
    if value is None:
        return
    _need_object(value, where)
    number = value.get("number")
    if number is not None and not (isinstance(number, int) and not isinstance(number, bool)) \
            and not (isinstance(number, str) and _TEXT.fullmatch(number)):
        raise Malformed(f"{where}.number", "a build number", number)
    _text(value, "url", f"{where}.url", nullable=True)


def _history(entry, where: str) -> None:
    _need_object(entry, where)
    _text(entry, "action", f"{where}.action")
    _text(entry, "at", f"{where}.at", nullable=True)
    for key in ("from", "to"):
        _color(entry, key, f"{where}.{key}", nullable=True)
    _text(entry, "release", f"{where}.release", nullable=True)
    _flag(entry, "forced", f"{where}.forced")


# -- the plan ------------------------------------------------------------------------------------

def _plan(data: dict, app: str, stage: str) -> None:
    if data.get("app") != app or data.get("stage") != stage:
        raise Malformed("app/stage", f"{app!r} {stage!r} (this plan is for another app or stage)",
                        f"{data.get('app')!r} {data.get('stage')!r}")
    _text(data, "id", "id")
    _color(data, "live", "live", nullable=True)
    _color(data, "passive", "passive", nullable=False)
    expected = _object(data, "expected", "expected", nullable=False)
    for inst, name in expected.items():
        if name is not None and not isinstance(name, str):
            raise Malformed(f"expected.{inst}", "a VCL name or null", name)
    if data.get("previous_state") is not None:
        _need_object(data["previous_state"], "previous_state")
        _state(data["previous_state"], app, stage)
    _text(data, "release", "release", nullable=True)
    vcls = _object(data, "vcl", "vcl")
    for color, name in vcls.items():
        if color not in COLORS or not (isinstance(name, str) and _VCL.fullmatch(name)):
            raise Malformed(f"vcl.{color}", "a VCL name for blue or green", name)
    for key in ("verified", "verify_failed", "switched", "compared", "compare_failed"):
        if data.get(key) is not None:
            _need_object(data[key], key)
    for key in ("deploy", "checks"):
        _list(data, key, key)


# -- small checks --------------------------------------------------------------------------------

def _need_object(value, where: str) -> None:
    if not isinstance(value, dict):
        raise Malformed(where, "an object", value)


def _object(data: dict, key: str, where: str, nullable: bool = True) -> dict:
    value = data.get(key)
    if value is None and nullable:
        return {}
    _need_object(value, where)
    return value


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(where, "a list", value)
    return value


def _color(data: dict, key: str, where: str, nullable: bool) -> None:
    value = data.get(key)
    if value is None and nullable:
        return
    if value not in COLORS:
        raise Malformed(where, "blue, green" + (" or null" if nullable else ""), value)


def _choice(data: dict, key: str, where: str, allowed: tuple) -> None:
    if data.get(key) not in allowed:
        raise Malformed(where, " or ".join(allowed), data.get(key))


def _text(data: dict, key: str, where: str, nullable: bool = False) -> None:
    value = data.get(key)
    if value is None and nullable:
        return
    if not isinstance(value, str) or not _TEXT.fullmatch(value):
        raise Malformed(where, "a line of text", value)


def _number(data: dict, key: str, where: str) -> None:
    value = data.get(key)
    if value is None:
        return
    if not finite(value):
        raise Malformed(where, "a finite number", value)


def _whole(data: dict, key: str, where: str) -> None:
    value = data.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise Malformed(where, "a whole number", value)


def _flag(data: dict, key: str, where: str) -> None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise Malformed(where, "true or false", value)


def _show(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 60:
        return "a number too large to show"
    return show(repr(value))


def _major(version: str) -> int:
    return int(re.match(r"\d+", version).group(0))
