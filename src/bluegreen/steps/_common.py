"""Checks several steps share before they touch anything live."""

from __future__ import annotations

from bluegreen.errors import Refused
from bluegreen.plan import instance_colors


def guard_plan_holds(ctx, stage, plan: dict, actives: dict) -> None:
    """Refuse when Varnish moved since `passive` planned, or serves the passive color (inv. 1, 4)."""
    colors = instance_colors(ctx.config.app, stage.name, actives)
    live_on = [i for i, c in colors.items() if c == plan["passive"]]
    if live_on:
        raise Refused(f"{plan['passive']} is live on {', '.join(live_on)}, and this plan would "
                      f"change it: another run switched since 'passive' ran; run "
                      f"'passive --stage {stage.name}' to plan again")
    moved = [f"{i} serves {v} (planned from {plan['expected'].get(i)})"
             for i, v in actives.items() if plan["expected"].get(i) != v]
    if moved:
        raise Refused(f"stage {stage.name} changed since 'passive' ran: {', '.join(moved)}; run "
                      f"'passive --stage {stage.name}' to plan again")
