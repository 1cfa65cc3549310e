"""Reading a record's JSON field by field: each reader checks one value and names its path when it
is wrong, so a record is either whole and typed or refused. Pure: no I/O.

    Fields(data, "colors.blue").opt_text("release")   # a line of text, or None
"""

from __future__ import annotations

import copy
import re

from bluegreen.model import COLORS, MOMENT, show

TEXT = re.compile(r"[^\x00-\x1f\x7f]{0,512}")
VCL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,199}")
PROSE = 16384
LONG = 10 ** 15  # no count, build number or generation bluegreen writes comes near it


class Malformed(Exception):
    """One fault in a record: where (a dotted path) and what was expected."""

    def __init__(self, where: str, expected: str, found):
        super().__init__(f"'{show(where)}' is {_show(found)}, expected {expected}")


class Fields:
    """The fields of one JSON object of a record, read with their path for messages."""

    __slots__ = ("data", "where")

    def __init__(self, data, where: str):
        if not isinstance(data, dict):
            raise Malformed(where or "(top level)", "an object", data)
        self.data, self.where = data, where

    def path(self, key) -> str:
        return f"{self.where}.{key}" if self.where else str(key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str) -> str:
        """A line of text (no control characters, at most 512)."""
        return self._need(key, self.opt_text)

    def opt_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and (not isinstance(value, str) or not TEXT.fullmatch(value)):
            raise Malformed(self.path(key), "a line of text", value)
        return value

    def prose(self, key: str) -> str | None:
        """Free text a person reads (a reason, an error message): any string of bounded length."""
        value = self.data.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > PROSE):
            raise Malformed(self.path(key), f"a text of at most {PROSE} characters", value)
        return value

    def need_prose(self, key: str) -> str:
        return self._need(key, self.prose)

    def vcl(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and (not isinstance(value, str) or not VCL_NAME.fullmatch(value)):
            raise Malformed(self.path(key), "a VCL name", value)
        return value

    def need_vcl(self, key: str) -> str:
        return self._need(key, self.vcl)

    def color(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is not None and value not in COLORS:
            raise Malformed(self.path(key), "blue, green or null", value)
        return value

    def need_color(self, key: str) -> str:
        value = self.data.get(key)
        if value not in COLORS:
            raise Malformed(self.path(key), "blue or green", value)
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.data.get(key)
        if value not in allowed:
            raise Malformed(self.path(key), " or ".join(allowed), value)
        return value

    def opt_choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        return None if self.data.get(key) is None else self.choice(key, allowed)

    def moment(self, key: str) -> str | None:
        """A recorded time, 2026-11-29T10:00:00.123Z, that bluegreen can compute with."""
        value = self.opt_text(key)
        if value is not None and not MOMENT.fullmatch(value):
            raise Malformed(self.path(key), "a time like 2026-11-29T10:00:00.000Z", value)
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) < LONG:
            raise Malformed(self.path(key), "a finite number", value)
        return value if value == value else _nan(self.path(key))

    def whole(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value < LONG):
            raise Malformed(self.path(key), "a whole number", value)
        return value

    def need_whole(self, key: str) -> int:
        return self._need(key, self.whole)

    def build_number(self, key: str) -> int | str | None:
        """A Jenkins build number: a whole number, or (BUILD_NUMBER as given) a line of text."""
        return self.opt_text(key) if isinstance(self.data.get(key), str) else self.whole(key)

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            raise Malformed(self.path(key), "true or false", value)
        return value

    def _need(self, key: str, read):
        if self.data.get(key) is None:
            read_name = read.__name__.removeprefix("opt_")
            raise Malformed(self.path(key), _WHAT.get(read_name, "a value"), None)
        return read(key)

    def object(self, key: str) -> Fields | None:
        value = self.data.get(key)
        return None if value is None else Fields(value, self.path(key))

    def objects(self, key: str) -> list[Fields]:
        """A list of objects (absent: empty)."""
        return [Fields(item, f"{self.path(key)}[{n}]") for n, item in enumerate(self.items(key))]

    def items(self, key: str) -> list:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise Malformed(self.path(key), "a list", value)
        return value

    def texts(self, key: str) -> list[str]:
        items = self.items(key)
        for n, item in enumerate(items):
            if not isinstance(item, str) or not TEXT.fullmatch(item):
                raise Malformed(f"{self.path(key)}[{n}]", "a line of text", item)
        return items

    def proses(self, key: str) -> list[str]:
        items = self.items(key)
        for n, item in enumerate(items):
            if not isinstance(item, str) or len(item) > PROSE:
                raise Malformed(f"{self.path(key)}[{n}]", f"a text of at most {PROSE} characters", item)
        return items

    def mapping(self, key: str) -> dict:
        """An object as it is (its own type checks its values)."""
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise Malformed(self.path(key), "an object", value)
        return value


class JsonValue:
    """A record or a part of one, read from JSON (`read`) and written back (`to_json`): equal
    when their JSON is. Plain classes: a record is read by every step, `switch` included, whose
    start-up is timed against varnishreload (bench/switch_process.py)."""

    def to_json(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable: never a dict key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()!r})"

    def updated(self, **changes):
        """A copy with `changes` made (this one stays as it is)."""
        unknown = set(changes) - set(vars(self))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        new = copy.copy(self)
        vars(new).update(changes)
        return new


_WHAT = {"text": "a line of text", "prose": "a text", "vcl": "a VCL name", "whole": "a whole number"}


def drop_none(data: dict) -> dict:
    """A JSON object without its null fields (optional fields a writer did not set)."""
    return {k: v for k, v in data.items() if v is not None}


def _nan(where: str):
    raise Malformed(where, "a finite number", float("nan"))


def _show(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 60:
        return "a number too large to show"
    return show(repr(value))
