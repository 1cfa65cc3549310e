"""The stage report (report.html + report.css) and the one-line summary, from gathered facts."""

from __future__ import annotations

from pathlib import Path

from bluegreen.errors import Refused
from bluegreen.model import now_iso
from bluegreen.observe import observe
from bluegreen.records.files import write_text

TEMPLATES = Path(__file__).parent / "templates"


def gather(ctx, stage, files, state: dict) -> dict:
    try:
        plan = files.read_plan("record")
    except Refused:  # no plan in this run (a rollback, an adopt): the report shows no checks
        plan = {}
    last = (state.get("history") or [{}])[-1]
    if plan.get("switched") and last.get("key") != plan.get("id"):
        plan = {}  # something happened since this plan's switch (a rollback): its checks are old
    observed = observe(ctx, stage, state)
    return {"app": ctx.config.app, "stage": stage.name, "state": state, "plan": plan,
            "observed": observed, "generated": now_iso()}


def summary(facts: dict) -> str:
    state, stage = facts["state"], facts["stage"]
    live = state.get("live")
    if not live:
        return f"{stage}: nothing live yet"
    release = (state.get("colors") or {}).get(live, {}).get("release") or "?"
    window = (state.get("switch") or {}).get("window_ms")
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
    if (state.get("switch") or {}).get("forced"):
        text += ", FORCED without verify"
    from bluegreen.watch import verdict

    if verdict.current(state):
        text += ", " + verdict.summary(verdict.current(state))
    return text


def render_html(facts: dict) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.ChainableUndefined)
    return env.get_template("report.html.j2").render(summary=summary(facts), **facts)


def write(files, facts: dict) -> str:
    line = summary(facts)
    write_text(files.report_path, render_html(facts))
    write_text(files.dir / "report.css", (TEMPLATES / "report.css").read_text(encoding="utf-8"))
    write_text(files.summary_path, line + "\n")
    return line
