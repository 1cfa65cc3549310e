"""What one interval of `watch` means, and what the whole watch comes to. Pure: no I/O.

An interval's figures are the new live color's requests and 5xx responses in it:

    fail          at least min_requests, an error share above max_error_rate, and above the old
                  color's share before the switch where that is known (the baseline)
    inconclusive  fewer than min_requests, or figures that could not be had whole (no series, a
                  log that was overrun): the reason is kept
    pass          otherwise

The watch: the first failing interval ends it with a rollback; an inconclusive interval does not
end it (a later interval may still fail). At the end, any inconclusive interval makes the watch
inconclusive, and `on_inconclusive` says what that means: pass (exit 0), fail (exit 1, no
rollback) or rollback (exit 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class Rules:
    max_error_rate: float
    min_requests: int
    on_inconclusive: str = "pass"


@dataclass(frozen=True)
class Figures:
    """What a source saw in one interval; `missing` says why the figures are not whole."""

    requests: float | None
    errors: float | None
    missing: str | None = None
    note: str | None = None


def intervals(seconds: float, interval_s: float) -> int:
    """How many intervals a watch of `seconds` has (at least one)."""
    return max(1, math.ceil(seconds / interval_s - 1e-9))


def judge(n: int, figures: Figures, rules: Rules, baseline: float | None = None) -> dict:
    """The verdict of interval `n` with every figure it rests on, ready for state.json."""
    requests, errors = figures.requests, figures.errors
    share = (errors / requests) if requests and errors is not None else (0.0 if requests == 0 else None)
    entry = {"n": n, "requests": _whole(requests), "errors": _whole(errors),
             "share": None if share is None else round(share, 6),
             "threshold": rules.max_error_rate, "baseline": None if baseline is None else round(baseline, 6)}
    if figures.missing:
        return {**entry, "verdict": INCONCLUSIVE, "why": figures.missing}
    if requests is None or errors is None or requests < rules.min_requests:
        return {**entry, "verdict": INCONCLUSIVE,
                "why": f"{_whole(requests or 0)} requests, fewer than min_requests {rules.min_requests}"}
    why = _note(figures)
    if share > rules.max_error_rate:
        if baseline is not None and share <= baseline:
            return {**entry, "verdict": PASS,
                    "why": f"error share {percent(share)} is above the threshold "
                           f"{percent(rules.max_error_rate)} but not above the old color's "
                           f"{percent(baseline)} before the switch" + why}
        return {**entry, "verdict": FAIL,
                "why": f"error share {percent(share)} is above the threshold "
                       f"{percent(rules.max_error_rate)}"
                       + (f" and the old color's {percent(baseline)} before the switch"
                          if baseline is not None else "") + why}
    return {**entry, "verdict": PASS,
            "why": f"error share {percent(share)} is within the threshold "
                   f"{percent(rules.max_error_rate)}" + why}


def outcome(judged: list[dict], rules: Rules) -> dict:
    """What the watch comes to: {"verdict", "rollback", "exit", "why"}."""
    failed = next((i for i in judged if i["verdict"] == FAIL), None)
    if failed:
        return {"verdict": FAIL, "rollback": True, "exit": 1,
                "why": f"interval {failed['n']} failed: {failed['why']}"}
    unsure = [i for i in judged if i["verdict"] == INCONCLUSIVE]
    if not unsure:
        return {"verdict": PASS, "rollback": False, "exit": 0,
                "why": f"all {len(judged)} intervals passed"}
    why = (f"{len(unsure)} of {len(judged)} intervals inconclusive (first: interval "
           f"{unsure[0]['n']}, {unsure[0]['why']}); on_inconclusive = \"{rules.on_inconclusive}\"")
    if rules.on_inconclusive == "pass":
        return {"verdict": INCONCLUSIVE, "rollback": False, "exit": 0, "why": why}
    return {"verdict": INCONCLUSIVE, "rollback": rules.on_inconclusive == "rollback", "exit": 1,
            "why": why}


def line(stage: str, color: str, entry: dict, planned: int) -> str:
    """One stderr line: requests, errors, share, threshold, verdict (and why when not a pass)."""
    share = "-" if entry["share"] is None else percent(entry["share"])
    base = "" if entry["baseline"] is None else f", old color before {percent(entry['baseline'])}"
    text = (f"watch {stage} {color} [{entry['n']}/{planned}]: {_show(entry['requests'])} requests, "
            f"{_show(entry['errors'])} errors, share {share}, threshold "
            f"{percent(entry['threshold'])}{base}: {entry['verdict'].upper()}")
    return text if entry["verdict"] == PASS else f"{text} ({entry['why']})"


def percent(share: float) -> str:
    return f"{share * 100:.2f}%"


def _whole(value: float | None):
    if value is None:
        return None
    return int(round(value)) if abs(value - round(value)) < 1e-6 else round(value, 3)


def _show(value) -> str:
    return "-" if value is None else str(value)


def _note(figures: Figures) -> str:
    return f" ({figures.note})" if figures.note else ""
