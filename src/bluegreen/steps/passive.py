"""passive --stage S: which color is live, which is passive; write OUT/S/plan.json."""

from bluegreen.context import Result
from bluegreen.records.decide import decide, instance_colors, varnish_live
from bluegreen.records.plan import Plan


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    store = ctx.store()
    with ctx.fleet(stage) as fleet:
        actives = fleet.lives()
    served = varnish_live(stage.name, instance_colors(config.app, stage.name, actives))
    state = store.load(files, config.app)
    live, passive = decide(stage.name, served, state, store.description)
    plan = Plan.new(config.app, stage.name, live, passive, actives, state)
    files.write_plan(plan)
    if live:
        ctx.say(f"{stage.name}: {live} is live on {len(actives)} Varnish instance(s); "
                f"passive is {passive}")
    else:
        ctx.say(f"{stage.name}: nothing of ours is live yet (first release); passive is {passive}")
    return Result(passive, {"stage": stage.name, "live": live, "passive": passive,
                            "instances": actives, "plan": str(files.plan_path)})
