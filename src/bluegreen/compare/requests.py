"""The two files compare reads, parsed and checked whole: the requests file and the expected changes.

    requests file   one request a line: METHOD PATH [Header: value]...; '#' comments, blank lines
    expected file   TOML: [[change]] path = "/api/products/*" (a trailing * matches a prefix)
                                     field = "price" | "status" | "header:NAME" | "body"

Pure: the callers read the files; every fault is a UsageError naming the file, the line and what
would be right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bluegreen.errors import UsageError
from bluegreen.model import show

SAFE = ("GET", "HEAD")
METHOD_RE = re.compile(r"[A-Z][A-Z-]{0,19}")
TARGET_RE = re.compile(r"/[!-~]*")
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
HEADER_AT = re.compile(rf"(?<!\S)({TOKEN}):(?=\s|$)")  # a name starts a word: linear time
NOT_SETTABLE = ("content-length", "transfer-encoding", "connection", "expect", "upgrade", "te")
METHOD_OVERRIDES = ("x-http-method-override", "x-http-method", "x-method-override")
SHOWN_VALUES = ("accept", "accept-language", "accept-encoding", "host", "user-agent")
BOM = "\ufeff"
FIELD_RE = re.compile(r"status|body|header:[A-Za-z0-9-]{1,64}|[^\s.]+(\.[^\s.]+)*")
MAX_LINE = 8192


@dataclass(frozen=True)
class Request:
    """One request of the requests file (line = its line number, for messages)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    line: int = 0

    @property
    def safe(self) -> bool:
        """GET or HEAD, and no header or `_method` parameter asking the app for another method
        (X-HTTP-Method-Override: DELETE on a GET is a DELETE to many frameworks)."""
        overrides = [v for k, v in self.headers if k.lower() in METHOD_OVERRIDES]
        query = self.target.partition("?")[2]
        overrides += [p.partition("=")[2] for p in query.split("&") if p.partition("=")[0] == "_method"]
        return self.method in SAFE and all(v.strip().upper() in SAFE for v in overrides)

    def __str__(self) -> str:
        return f"{self.method} {self.target}"

    @property
    def label(self) -> str:
        """The request as a test name shows it: header values left out (they may be
        credentials), except those that only pick a representation."""
        shown = [f"{k}: {v if k.lower() in SHOWN_VALUES else '***'}" for k, v in self.headers]
        return " ".join([str(self), *shown])

    def over(self, base: dict) -> dict:
        """`base` headers with this request's own on top, names compared case-insensitively (a
        Host in the requests file wins over checks.host)."""
        named = {k.lower() for k, _v in self.headers}
        return {**{k: v for k, v in base.items() if k.lower() not in named}, **dict(self.headers)}


@dataclass
class Requests:
    """The requests to send, and how many unsafe ones were left out."""

    send: list[Request] = field(default_factory=list)
    skipped: list[Request] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One declared change: a path pattern (trailing * = prefix) and a field."""

    path: str
    field: str
    reason: str = ""

    def matches_path(self, target: str) -> bool:
        if self.path.endswith("*"):
            return target.startswith(self.path[:-1])
        return target == self.path or target.split("?", 1)[0] == self.path

    def __str__(self) -> str:
        return f"{self.path} {self.field}"


def parse_requests(text: str, source: str, allow_unsafe: bool = False,
                   preview_header: str = "X-Bluegreen-Color") -> Requests:
    """The requests of a requests file; unsafe methods are skipped unless allow_unsafe."""
    out = Requests()
    seen: set[tuple] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        request = parse_line(line, number, source, preview_header)
        key = (request.method, request.target, request.headers)
        if key in seen:
            continue
        seen.add(key)
        (out.send if request.safe or allow_unsafe else out.skipped).append(request)
    if not out.send:
        why = (f"all {len(out.skipped)} of its requests use unsafe methods, which are skipped "
               "unless compare.allow_unsafe = true" if out.skipped else "it holds no requests")
        raise UsageError(f"{source}: nothing to send: {why}; add lines such as "
                         "'GET /api/products/1 Accept: application/json'")
    return out


def parse_line(line: str, number: int, source: str, preview_header: str) -> Request:
    where = f"{source} line {number}"
    if len(line) > MAX_LINE:
        raise UsageError(f"{where}: longer than {MAX_LINE} characters")
    if any(ord(ch) < 0x20 and ch != "\t" or ord(ch) == 0x7F for ch in line):
        raise UsageError(f"{where}: holds a control character; one request a line: "
                         "METHOD PATH [Header: value]...")
    parts = line.split(None, 2)
    if len(parts) < 2:
        raise UsageError(f"{where}: '{_short(line)}' should be METHOD PATH [Header: value]..., "
                         "e.g. GET /api/products/1 Accept: application/json")
    method, target = parts[0], parts[1]
    if not METHOD_RE.fullmatch(method):
        raise UsageError(f"{where}: '{_short(method)}' is not an HTTP method; write it in capitals, "
                         "e.g. GET")
    if not TARGET_RE.fullmatch(target):
        raise UsageError(f"{where}: '{_short(target)}' should be a path starting with '/' "
                         "(query string allowed, no spaces)")
    headers = _headers(parts[2] if len(parts) > 2 else "", where, preview_header)
    return Request(method, target, headers, number)


def _headers(rest: str, where: str, preview_header: str) -> tuple[tuple[str, str], ...]:
    rest = rest.strip()
    if not rest:
        return ()
    marks = list(HEADER_AT.finditer(rest))
    if not marks or marks[0].start() != 0:
        raise UsageError(f"{where}: what follows the path should be headers written 'Name: value' "
                         "(not shown: it may hold a credential)")
    out = []
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(rest)
        name, value = mark.group(1), rest[mark.end():end].strip()
        if not value.isascii() and not _latin1(value):
            bad = next(ch for ch in value if ord(ch) > 0xFF)
            raise UsageError(f"{where}: the value of {name} holds {bad!r} (U+{ord(bad):04X}), which "
                             "an HTTP header cannot carry; write it in ASCII (percent-encoded, say)")
        if name.lower() in NOT_SETTABLE:
            raise UsageError(f"{where}: the header {name} is set by compare itself; remove it")
        if name.lower() == preview_header.lower():
            raise UsageError(f"{where}: the header {name} picks the color and is set by compare "
                             "itself; remove it")
        out.append((name, value))
    return tuple(out)


def read_text(path, key: str) -> str:
    """A requests or expected-changes file's text; a UsageError naming `key` when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{key}: file {path} not found: create it (see docs/compare.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{key}: cannot read {path} ({getattr(exc, 'strerror', None) or exc}): "
                         "it should be a UTF-8 text file") from None
    if text.startswith(BOM):
        raise UsageError(f"{key}: {path} starts with a byte order mark (BOM): save it as UTF-8 "
                         "without one")
    return text


def parse_expected(text: str, source: str) -> list[Change]:
    """The declared changes of an expected-changes file (TOML, [[change]] tables)."""
    import tomllib  # here, not at the top: switch imports this module and must start fast

    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise UsageError(f"{source}: nested too deep to be an expected-changes file; write "
                         "[[change]] tables with path and field") from None
    except ValueError as exc:  # TOMLDecodeError, or an integer of too many digits
        raise UsageError(f"{source}: not valid TOML ({show(exc, 200)}); write [[change]] tables with "
                         "path and field") from None
    unknown = set(data) - {"change"}
    if unknown:
        raise UsageError(f"{source}: unknown key {sorted(unknown)[0]!r}; the file holds only "
                         "[[change]] tables")
    changes = data.get("change", [])
    if not isinstance(changes, list):
        raise UsageError(f"{source}: 'change' should be [[change]] tables, not a single value")
    return [_change(entry, f"{source} change {n}") for n, entry in enumerate(changes, start=1)]


def _change(entry, where: str) -> Change:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: should be a table with path and field")
    unknown = set(entry) - {"path", "field", "reason"}
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}; expected path, field and "
                         "an optional reason")
    path, name, reason = entry.get("path"), entry.get("field"), entry.get("reason", "")
    if not isinstance(path, str) or not TARGET_RE.fullmatch(path) or "*" in path[:-1]:
        raise UsageError(f"{where}: path {_short(repr(path))} should be a path of the requests "
                         "file starting with '/', with at most one '*', at the end")
    if not isinstance(name, str) or not FIELD_RE.fullmatch(name):
        raise UsageError(f"{where}: field {_short(repr(name))} should be a JSON dotted path "
                         "(e.g. price or items.0.price), \"status\", \"header:NAME\" or \"body\"")
    if not isinstance(reason, str):
        raise UsageError(f"{where}: reason should be a string")
    return Change(path, name, reason)


def parse_ignore(entries) -> tuple[tuple[str, ...], frozenset[str]]:
    """compare.ignore split into (JSON dotted paths, lower-cased header names)."""
    paths, headers = [], set()
    for entry in entries:
        if entry.lower().startswith("header:"):
            headers.add(entry.split(":", 1)[1].strip().lower())
        else:
            paths.append(entry)
    return tuple(paths), frozenset(headers)


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
