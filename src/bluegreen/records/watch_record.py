"""The last watch's verdict as state.json keeps it under `watch`, checked whole when read.

It stays a JSON object (the report, the summary and junit-watch.xml read it as such), but no
field any of them reads gets through unchecked: a record of the wrong shape is refused like any
other malformed record instead of breaking every step that writes outputs. Pure: no I/O.
"""

from __future__ import annotations

from bluegreen.records.fields import Fields, Malformed

VERDICTS = ("pass", "fail", "inconclusive", "error")
INTERVAL_VERDICTS = ("pass", "fail", "inconclusive")


def read_watch(f: Fields | None) -> dict | None:
    """The watch record, every field read checked; None when there is none."""
    if f is None:
        return None
    f.opt_text("release")
    for key in ("color", "previous"):
        f.color(key)
    for key in ("source", "started", "finished", "switch_key"):
        f.opt_text(key)
    f.prose("why")
    f.opt_choice("verdict", VERDICTS)
    if f.has("exit") and f.whole("exit") not in (0, 1, 2, 3):
        raise Malformed(f.path("exit"), "an exit code 0 to 3", f.data["exit"])
    f.number("baseline")
    settings = f.object("settings")
    if settings is None:
        raise Malformed(f.path("settings"), "an object", None)
    for key in ("seconds", "interval_s", "max_error_rate"):
        settings.number(key)
    settings.whole("min_requests")
    settings.opt_text("on_inconclusive")
    for entry in f.objects("intervals"):
        entry.need_whole("n")
        for key in ("requests", "errors", "share", "threshold", "baseline"):
            entry.number(key)
        entry.choice("verdict", INTERVAL_VERDICTS)
        entry.prose("why")
        entry.opt_text("at")
    rollback = f.object("rollback")
    if rollback is not None:
        rollback.flag("done")
        rollback.color("to")
        for key in ("release", "at", "key"):
            rollback.opt_text(key)
        rollback.prose("why")
    return f.data


def summary(record: dict) -> str:
    """A few words for summary.txt: 'watch FAIL, rolled back to blue'."""
    text = f"watch {str(record.get('verdict')).upper()}"
    rollback = record.get("rollback") or {}
    if rollback.get("done"):
        return f"{text}, rolled back to {rollback.get('to')}"
    if rollback:
        return f"{text}, NOT rolled back"
    return text
