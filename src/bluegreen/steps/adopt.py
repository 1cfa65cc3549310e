"""adopt --stage S --reason R: take what Varnish serves as the truth and record it."""

from bluegreen.context import Result
from bluegreen.records.decide import instance_colors, varnish_live
from bluegreen.records.state import State
from bluegreen.steps._outputs import write_outputs


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    store = ctx.store()
    state = store.load(files, config.app) or State(config.app, stage.name)
    with ctx.fleet(stage) as fleet, store.writing(files, config.app, state.generation) as commit:
        actives = fleet.lives()
        served = varnish_live(stage.name, instance_colors(config.app, stage.name, actives))
        was = state.live
        state = commit(state.adopted(served, next(iter(actives.values())), args.reason, ctx.build()))
        write_outputs(ctx, stage, files, state, fleet)
    ctx.say(f"adopt {stage.name}: recorded {served or 'nothing'} as live (was {was or 'nothing'}): "
            f"{args.reason}")
    return Result(served or "none", {"stage": stage.name, "live": served, "was": was})
