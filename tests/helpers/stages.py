"""A stage (a `Site`, or a `FakeStage`) brought to a point of the pipeline, through the CLI as a
pipeline runs it."""

from __future__ import annotations

import json


def stage_next(site, version: str = "1.1.0") -> None:
    """1.0.0 live on blue; `version` deployed and verified on green, not yet live."""
    site.release("1.0.0")
    for argv in (["passive"], ["deploy", "--version", version], ["verify"]):
        site.ok(*argv, "--stage", "test")


def plan_of(site) -> dict:
    """The stage's plan.json as this run's steps left it."""
    return json.loads((site.out / "test" / "plan.json").read_text())
