"""passive --stage S: which color is live, which is passive; write OUT/S/plan.json.

passive --stage S --check: write nothing; refuse when Varnish or the newest record moved since
this run's plan. The pipeline runs it in the locked stage right before the switch, so that the
switch itself needs no Jenkins access (a record written meanwhile by another build is caught).
"""

from bluegreen.context import Result
from bluegreen.errors import Refused
from bluegreen.records.decide import decide, instance_colors, varnish_live
from bluegreen.records.plan import Plan
from bluegreen.steps._common import guard_plan_holds


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    store = ctx.store()
    if getattr(args, "check", False):
        return _check(ctx, stage, files, store)
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


def _check(ctx, stage, files, store) -> Result:
    plan = files.read_plan("passive --check")
    with ctx.fleet(stage) as fleet:
        guard_plan_holds(ctx, stage, plan, fleet.lives())
    newest = store.load(files, ctx.config.app)
    planned = plan.previous_state.generation if plan.previous_state else 0
    found = newest.generation if newest else 0
    if found != planned:
        last = newest.last if newest else None
        what = f": {last.action} at {last.at}" if last else ""
        raise Refused(f"the record of stage {stage.name} moved on since this run planned: generation "
                      f"{found} in {store.description}, the plan read {planned}{what}; another run "
                      f"wrote it: run 'passive --stage {stage.name}' to plan again; nothing live changed")
    ctx.say(f"{stage.name}: the plan still holds (Varnish as planned, record generation {found})")
    return Result(plan.passive, {"stage": stage.name, "passive": plan.passive, "generation": found,
                                 "holds": True})
