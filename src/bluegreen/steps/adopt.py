"""adopt --stage S --reason R: take what Varnish serves as the truth and record it."""

from bluegreen.context import Result
from bluegreen.model import now_iso
from bluegreen.records.decide import initial_state, instance_colors, varnish_live
from bluegreen.steps import record


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    state = ctx.store().load(files, config.app) or initial_state(config.app, stage.name)
    with ctx.fleet(stage) as fleet:
        actives = fleet.lives()
    served = varnish_live(stage.name, instance_colors(config.app, stage.name, actives))
    was = state.get("live")
    state = dict(state)
    if served != was:
        state["previous"] = was
    state["live"] = served
    colors = {c: dict(v) for c, v in (state.get("colors") or {}).items()}
    if served:
        colors.setdefault(served, {})["vcl"] = next(iter(actives.values()))
    state["colors"] = colors
    state["build"] = ctx.build()
    state["history"] = [*(state.get("history") or []),
                        {"at": now_iso(), "action": "adopt", "from": was, "to": served,
                         "reason": args.reason, "build": (ctx.build() or {}).get("number")}][-50:]
    files.write_state(state)
    record.write_outputs(ctx, stage, files, state)
    ctx.say(f"adopt {stage.name}: recorded {served or 'nothing'} as live (was {was or 'nothing'}): "
            f"{args.reason}")
    return Result(served or "none", {"stage": stage.name, "live": served, "was": was})
