"""reconcile --stage S: put the recorded live color back on every instance (after a restart).

The recorded VCL is loaded where it is missing (its source from this workspace, the store, or
rendered again from the configuration), its probes are waited for, then it is made live (or,
in label mode, the label is made to point at it again).
"""

from bluegreen.context import Result
from bluegreen.errors import Refused
from bluegreen.steps._common import vcl_source


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    store = ctx.store()
    state = store.load(files, config.app)
    live = state.live if state else None
    name = state.vcl_of(live) if state else None
    if not live or not name:
        raise Refused(f"nothing is recorded live for stage {stage.name}: nothing to reconcile")
    with ctx.fleet(stage) as fleet:
        source = None
        if fleet.missing(name):
            source = vcl_source(ctx, stage, files, name, store)
            if source is None:
                raise Refused(f"VCL {name} is not loaded everywhere, its source is not in {files.dir} "
                              "nor in the store, and the configuration no longer renders it: "
                              "release again instead")
        fleet.prepare({name: source}, config.vcl.compile_timeout_s)  # loads, or warms a cold one
        healthy, seen = fleet.wait_healthy(name, live, config.checks.wait_s)
        if not healthy:
            raise Refused(f"Varnish's probes in {name} do not see {live} healthy after "
                          f"{config.checks.wait_s:g} s ({seen}): not making it live; check the "
                          f"{live} servers, then run 'reconcile --stage {stage.name}' again")
        fixed = fleet.move(name)
    ctx.say(f"reconcile {stage.name}: {live} ({name}) put back on {', '.join(fixed)}" if fixed
            else f"reconcile {stage.name}: every instance already serves {live}")
    return Result(live, {"stage": stage.name, "live": live, "fixed": fixed})
