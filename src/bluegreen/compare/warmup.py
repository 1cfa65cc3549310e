"""Warm the cache of the color about to go live, before the switch (issue 15). Decisions only.

`switch` sends the first `warmup.top` requests of the requests file through every Varnish
instance of the stage (each has its own cache), with the preview header of the target color and
without X-Bluegreen-Pass, so Varnish stores the answers under that color: right after the switch
its cache already holds the busiest pages. Best effort: a failure is counted and named, never
fatal. This module decides what to send, where, and what to say; replay.Warm sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.checks import preview
from bluegreen.compare.requests import Request, parse_requests
from bluegreen.errors import UsageError
from bluegreen.model import Address


def key(settings) -> str:
    """The key path that names the requests file, for messages."""
    return "compare.requests" if settings.from_compare else "warmup.requests"


@dataclass(frozen=True)
class Target:
    """One Varnish instance: where warm-up connects (the front, or the preview listener) and the
    Host its clients send to its front (the cache key holds the Host)."""

    address: Address
    host: str | None


def skip_reason(config, stage, plan, no_warmup: bool) -> str | None:
    """Why this switch does not warm, or None when it should."""
    if no_warmup:
        return "--no-warmup"
    if not preview.addresses(stage):
        return f"stages.{stage.name}.front is not set: no HTTP address to warm through"
    if not config.vcl.cache_split:
        return "vcl.cache_split = false: both colors share one cache, already warm"
    if plan.live is None:
        return "first release: Varnish serves no VCL of ours yet to route the preview header"
    return None


def requests(text: str, settings, preview_header: str) -> list[Request]:
    """The first `top` requests of the file: GET and HEAD only. In a file of warm-up's own, an
    unsafe line is refused; compare's file may hold them (compare.allow_unsafe): left out."""
    source = str(settings.requests)
    try:
        found = parse_requests(text, source, allow_unsafe=True, preview_header=preview_header)
    except UsageError as exc:
        raise UsageError(f"{key(settings)}: {exc.message}") from None
    unsafe = [r for r in found.send if not r.safe]
    if unsafe and not settings.from_compare:
        raise UsageError(f"warmup.requests: {source} line {unsafe[0].line}: {unsafe[0].method} is never sent "
                         "to warm the cache; list GET and HEAD requests only")
    safe = [r for r in found.send if r.safe]
    if not safe:
        raise UsageError(f"{key(settings)}: {source}: no GET or HEAD request to warm the cache with; add "
                         "lines such as 'GET /products'")
    return safe[:settings.top]


def targets(stage) -> list[Target]:
    """Every instance of the stage; through a preview listener, the Host is the front's."""
    sent_to = preview.addresses(stage)
    fronts = stage.front or (None,) * len(sent_to)
    return [Target(address, _host(front) if stage.preview and front else None)
            for address, front in zip(sent_to, fronts, strict=True)]


def headers(request: Request, color_headers: dict, host: str | None) -> dict:
    """The preview headers of the color (and checks.host), the request's own on top; the
    front's Host when neither names one."""
    out = request.over(color_headers)
    if host and not any(k.lower() == "host" for k in out):
        out["Host"] = host
    return out


def failure(answer, color: str, preview_header: str) -> str | None:
    """Why one answer did not warm the color's cache, or None when it did."""
    if answer.status is None:
        return answer.error or "no answer"
    served_by = answer.headers.get(preview_header.lower())
    if served_by != color:
        return (f"served by {served_by or 'an unknown color'}, not {color}: the preview does "
                "not reach the colors (vcl.preview_from, the listener, the token?)")
    if answer.status >= 500:
        return f"HTTP {answer.status}"
    return None


@dataclass
class Tally:
    """What a warm-up did: requests per instance, how many warmed, failed, or were not sent."""

    requests: int
    instances: int
    warmed: int = 0
    failed: int = 0
    not_sent: int = 0
    seconds: float = 0.0
    first_failure: str | None = None
    budget_s: float = 0.0

    def add(self, what: str, why: str | None, sent: bool = True) -> None:
        if not sent:
            self.not_sent += 1
        elif why is None:
            self.warmed += 1
        else:
            self.failed += 1
            self.first_failure = self.first_failure or f"{what}: {why}"

    def as_dict(self) -> dict:
        return {"requests": self.requests, "instances": self.instances, "warmed": self.warmed,
                "failed": self.failed, "not_sent": self.not_sent,
                "seconds": round(self.seconds, 3), "first_failure": self.first_failure}

    def lines(self, stage: str, color: str) -> list[str]:
        """One line, or two when something failed or the budget ran out; the switch goes on."""
        head = (f"warm-up {stage}: warmed {self.warmed} of {self.requests * self.instances} "
                f"({self.requests} URL(s) on {self.instances} instance(s)) for {color} in "
                f"{self.seconds:.1f} s")
        if not self.failed and not self.not_sent:
            return [head]
        parts = [f"{self.failed} failed (first: {self.first_failure})"] if self.failed else []
        if self.not_sent:
            parts.append(f"{self.not_sent} not sent: warmup.budget_s ({self.budget_s:g} s) ran out")
        return [head, f"WARNING: warm-up {stage}: {'; '.join(parts)}; switching anyway"]


def _host(front: Address) -> str:
    """The Host a client sends to the front (http.client's form: no :80)."""
    if front.port != 80:
        return str(front)
    return f"[{front.host}]" if ":" in front.host else front.host
