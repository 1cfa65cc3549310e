"""The stage's outputs after a step changed or read the record: report.html (+ report.css) and
summary.txt, from the record, this run's plan and what is true now."""

from __future__ import annotations

from bluegreen.errors import Refused
from bluegreen.model import now_iso
from bluegreen.observe import observe
from bluegreen.records.state import State
from bluegreen.report import page


def write_outputs(ctx, stage, files, state: State, fleet) -> str:
    """report.html (+ report.css) and summary.txt of what is recorded and true now; the summary.

    The plan's checks are shown only while its switch is still what is recorded last."""
    try:
        plan = files.read_plan("record")
    except Refused:  # no plan in this run (a rollback, an adopt): the report shows no checks
        plan = None
    went = state.last
    if plan and plan.switched and (went is None or went.key != plan.id):
        plan = None  # something happened since this plan's switch (a rollback): its checks are old
    facts = {"app": ctx.config.app, "stage": stage.name, "state": state.to_json(),
             "plan": plan.to_json() if plan else {},
             "observed": observe(ctx.config, stage, state, fleet), "generated": now_iso()}
    return page.write(files, facts, state)
