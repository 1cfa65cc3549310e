"""What differs between the live and the passive color, what of it is noise, and the verdict.

For each request and each Varnish front there are three answers, taken in this order: live (a),
passive, live again (b). An answer becomes a flat map of fields:

    status              "200"
    header:NAME         the compared headers (Content-Type, Location, Cache-Control, compare.headers)
    a.b.0.c             a JSON body, field by field (array positions as numbers)
    body line N         any other text body, line by line
    body sha256         a binary body, by hash

A field that differs between a and b is noise; so is anything in compare.ignore. Every other
field where the passive answer differs must match a declared change, and every declared change
must be seen. A passive 5xx (or no answer) where live answered below 500 fails whatever is declared.
Because the passive answer is taken between the two live ones, a clock or counter in an answer
that changed before the passive one was taken has changed in b too: it is noise.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from bluegreen.compare.requests import Change, Request

DEFAULT_HEADERS = ("content-type", "location", "cache-control")
ABSENT = "(absent)"
SHOWN = 120


@dataclass(frozen=True)
class Reply:
    """What one answer held: the status (None when there was no answer), headers, body bytes."""

    status: int | None
    headers: dict = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    error: str | None = None


@dataclass
class Difference:
    field: str
    live: str
    passive: str
    change: Change | None = None

    def as_dict(self) -> dict:
        return {"field": self.field, "live": shorten(self.live), "passive": shorten(self.passive),
                "expected": str(self.change) if self.change else None}


@dataclass
class Outcome:
    """The comparison of one request, over every front."""

    request: Request
    differences: list[Difference] = field(default_factory=list)
    noise: set[str] = field(default_factory=set)
    broken: str | None = None  # passive 5xx or no answer where live answered below 500
    live_failed: str | None = None  # no answer from the live color: nothing to compare with

    @property
    def unexpected(self) -> list[Difference]:
        return [d for d in self.differences if d.change is None]

    @property
    def ok(self) -> bool:
        return not (self.unexpected or self.broken or self.live_failed)

    def as_dict(self) -> dict:
        return {"request": str(self.request), "ok": self.ok, "broken": self.broken,
                "live_failed": self.live_failed, "noise": sorted(self.noise),
                "differences": [d.as_dict() for d in self.differences]}


@dataclass
class Verdict:
    outcomes: list[Outcome]
    changes: list[Change]
    seen: dict[Change, list[str]]  # declared change -> the requests it was seen on
    skipped: int = 0

    @property
    def missing(self) -> list[Change]:
        return [c for c in self.changes if not self.seen.get(c)]

    @property
    def passed(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.missing

    def counts(self) -> dict:
        return {"requests": len(self.outcomes), "passed": sum(o.ok for o in self.outcomes),
                "failed": sum(not o.ok for o in self.outcomes), "skipped_unsafe": self.skipped,
                "unexpected": sum(len(o.unexpected) for o in self.outcomes),
                "broken": sum(1 for o in self.outcomes if o.broken or o.live_failed),
                "expected_seen": len(self.changes) - len(self.missing),
                "expected_missing": len(self.missing),
                "noise": sum(len(o.noise) for o in self.outcomes)}

    def summary(self, limit: int = 200) -> dict:
        """What the plan and the report keep: counts, the failures (shortened), the expectations."""
        failures = []
        for o in self.outcomes:
            if o.broken or o.live_failed:
                failures.append({"request": str(o.request), "field": "status",
                                 "live": "", "passive": "", "why": o.broken or o.live_failed})
            failures += [{"request": str(o.request), **d.as_dict(), "why": "unexpected"}
                         for d in o.unexpected]
        return {"counts": self.counts(), "failures": failures[:limit],
                "expected": [{"path": c.path, "field": c.field, "reason": c.reason,
                              "seen_on": self.seen.get(c, [])[:20]} for c in self.changes]}


def fields(reply: Reply, headers: tuple[str, ...] = DEFAULT_HEADERS,
           ignore_paths: tuple[str, ...] = (), ignore_headers: frozenset = frozenset()) -> dict:
    """The flat map of one answer's compared fields, without the ignored ones."""
    out = {"status": str(reply.status)}
    for name in headers:
        if name not in ignore_headers:
            out[f"header:{name}"] = reply.headers.get(name, ABSENT)
    body = body_fields(reply.body, reply.headers.get("content-type", ""))
    out.update({k: v for k, v in body.items() if not ignored(k, ignore_paths)})
    return out


def body_fields(body: bytes, content_type: str) -> dict:
    if not body:
        return {}
    if "json" in content_type.lower():
        try:
            return flatten(json.loads(body))
        except (ValueError, RecursionError):
            pass  # not JSON after all: compare it as text
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {"body sha256": hashlib.sha256(body).hexdigest()}
    return {f"body line {n}": line for n, line in enumerate(text.split("\n"), start=1)}


def flatten(value, prefix: str = "") -> dict:
    """{dotted path: JSON text of the leaf}; empty objects and arrays are leaves; root = "body"."""
    items: Iterable[tuple[str, object]]
    if isinstance(value, dict) and value:
        items = value.items()
    elif isinstance(value, list) and value:
        items = ((str(n), v) for n, v in enumerate(value))
    else:
        return {prefix or "body": json.dumps(value, sort_keys=True, ensure_ascii=False)}
    out = {}
    for key, child in items:
        out.update(flatten(child, f"{prefix}.{key}" if prefix else str(key)))
    return out


def path_matches(pattern: str, name: str) -> bool:
    """A dotted pattern (a '*' segment matches any one segment) covers a field or anything under it."""
    want, have = pattern.split("."), name.split(".")
    return len(have) >= len(want) and all(w in ("*", h) for w, h in zip(want, have, strict=False))


def ignored(name: str, paths: tuple[str, ...]) -> bool:
    return any(path_matches(p, name) for p in paths)


def field_matches(declared: str, name: str) -> bool:
    """Does a declared field ("status", "header:NAME", "body" or a dotted path) cover a field?"""
    if declared == "status" or name == "status":
        return declared == name
    if declared.lower().startswith("header:") or name.startswith("header:"):
        return declared.lower() == name
    if declared == "body":
        return True
    return path_matches(declared, name)


def compare(request: Request, triples: list[tuple[Reply, Reply, Reply]], changes: list[Change],
            headers: tuple[str, ...] = DEFAULT_HEADERS, ignore: tuple = ((), frozenset())) -> Outcome:
    """One request over every front: triples of (live a, passive, live b)."""
    outcome = Outcome(request)
    found: dict[str, Difference] = {}
    for live_a, passive, live_b in triples:
        trouble = _trouble(live_a, passive, live_b)
        if trouble:
            kind, text = trouble
            setattr(outcome, kind, getattr(outcome, kind) or text)
            continue
        a, p, b = (fields(r, headers, *ignore) for r in (live_a, passive, live_b))
        outcome.noise |= {k for k in a.keys() | b.keys() if a.get(k, ABSENT) != b.get(k, ABSENT)}
        for key in sorted(a.keys() | p.keys()):
            if a.get(key, ABSENT) != p.get(key, ABSENT) and key not in found:
                found[key] = Difference(key, a.get(key, ABSENT), p.get(key, ABSENT))
    for key, diff in found.items():
        if key in outcome.noise:
            continue
        diff.change = next((c for c in changes if c.matches_path(request.target)
                            and field_matches(c.field, key)), None)
        outcome.differences.append(diff)
    return outcome


def _trouble(live_a: Reply, passive: Reply, live_b: Reply) -> tuple[str, str] | None:
    for reply in (live_a, live_b):
        if reply.status is None:
            return "live_failed", f"the live color gave no answer ({reply.error})"
    live = live_a.status
    if passive.status is None:
        return "broken", f"the passive color gave no answer ({passive.error}); live answered {live}"
    if passive.status >= 500 and live < 500:
        return "broken", f"the passive color answered {passive.status} where live answered {live}"
    return None


def verdict(outcomes: list[Outcome], changes: list[Change], skipped: int = 0) -> Verdict:
    """Every declared change is seen where any remaining difference falls under it."""
    seen: dict[Change, list[str]] = {}
    for o in outcomes:
        for change in changes:
            if change.matches_path(o.request.target) and \
                    any(field_matches(change.field, d.field) for d in o.differences):
                seen.setdefault(change, []).append(str(o.request))
    return Verdict(outcomes, changes, seen, skipped)


def shorten(text: str, limit: int = SHOWN) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
