"""What several steps share: the checks before they touch anything live, a VCL's source, the
VCLs left warm after a move. Light: `switch` imports it."""

from __future__ import annotations

from bluegreen.errors import Refused
from bluegreen.records.decide import instance_colors
from bluegreen.records.plan import Plan
from bluegreen.records.state import State
from bluegreen.varnish import upkeep
from bluegreen.varnish.names import color_of


def guard_plan_holds(ctx, stage, plan: Plan, actives: dict) -> None:
    """Refuse when Varnish moved since `passive` planned, or serves the passive color (inv. 1, 4)."""
    colors = instance_colors(ctx.config.app, stage.name, actives)
    live_on = [i for i, c in colors.items() if c == plan.passive]
    if live_on:
        raise Refused(f"{plan.passive} is live on {', '.join(live_on)}, and this plan would "
                      f"change it: another run switched since 'passive' ran; run "
                      f"'passive --stage {stage.name}' to plan again")
    moved = [f"{i} serves {v} (planned from {plan.expected.get(i)})"
             for i, v in actives.items() if plan.expected.get(i) != v]
    if moved:
        raise Refused(f"stage {stage.name} changed since 'passive' ran: {', '.join(moved)}; run "
                      f"'passive --stage {stage.name}' to plan again")


def vcl_source(ctx, stage, files, name: str, store=None) -> str | None:
    """A VCL's source: from this workspace, else from the store (an earlier build's artifacts),
    else rendered again from the configuration when that gives exactly this VCL (its name is a
    hash of its content, so a changed configuration cannot pass for the old VCL)."""
    source = files.load_vcl(name)
    if source is None and store is not None:
        source = store.vcl_source(files, name)
    if source is None:
        from bluegreen.varnish import vcl

        source = next((text for rendered, text in vcl.render_both(ctx.config, stage).values()
                       if rendered == name), None)
    if source is not None:
        files.save_vcl(name, source)
    return source


def cool_the_rest(ctx, stage, fleet, state: State) -> list[str]:
    """After a switch or a rollback: only the live VCL and the rollback target stay warm."""
    warm = {name for info in state.colors.values() if info.readiness in ("live", "hot")
            for name in [info.vcl, *(info.served or {}).values()] if name}
    return upkeep.cool(fleet, lambda n: color_of(ctx.config.app, stage.name, n), warm)
