"""The stage report (report.html + report.css) and the one-line summary, from the facts a step
gathered (the record, this run's plan, what is true now). Renders and writes; asks nothing."""

from __future__ import annotations

from pathlib import Path

from bluegreen.records.files import write_text
from bluegreen.records.state import State
from bluegreen.records.watch_record import summary as watch_summary

TEMPLATES = Path(__file__).parent / "templates"


def summary(facts: dict, state: State) -> str:
    """The one line for the build description: what is live, the window, the rollback, the watch."""
    stage, live = facts["stage"], state.live
    if not live:
        return f"{stage}: nothing live yet"
    release = state.release_of(live) or "?"
    window = state.switch.window_ms if state.switch else None
    text = f"{stage}: LIVE {live} {release}"
    if window is not None:
        text += f" (switch window {window:.2f} ms)"
    rb = facts["observed"]["rollback"]
    if rb.get("ready"):
        text += f", rollback to {rb['color']} {rb['release']} ready"
    elif rb.get("action") in ("redeploy", "refuse"):
        text += (f", rollback to {rb['color']} {rb['release']} by redeploy ({rb['color']} retired)"
                 if rb["action"] == "redeploy" else
                 f", no rollback ({rb['color']} contracted: roll forward)")
    else:
        text += f", no rollback ready ({rb['why']})"
    if state.switch and state.switch.forced:
        text += ", FORCED without verify"
    watched = state.current_watch()
    if watched:
        text += ", " + watch_summary(watched)
    return text


def render_html(facts: dict, line: str) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.ChainableUndefined)
    return env.get_template("report.html.j2").render(summary=line, **facts)


def write(files, facts: dict, state: State) -> str:
    """report.html, report.css and summary.txt; the summary line."""
    line = summary(facts, state)
    write_text(files.report_path, render_html(facts, line))
    write_text(files.dir / "report.css", (TEMPLATES / "report.css").read_text(encoding="utf-8"))
    write_text(files.summary_path, line + "\n")
    return line
