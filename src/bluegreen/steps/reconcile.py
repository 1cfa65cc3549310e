"""reconcile --stage S: put the recorded live color back on every instance (after a restart)."""

from bluegreen.context import Result
from bluegreen.errors import Refused


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    state = ctx.store().load(files, config.app)
    live = state.get("live") if state else None
    name = ((state or {}).get("colors") or {}).get(live or "", {}).get("vcl")
    if not live or not name:
        raise Refused(f"nothing is recorded live for stage {stage.name}: nothing to reconcile")
    source = files.load_vcl(name)
    fixed = []
    with ctx.fleet(stage) as fleet:
        lacking = fleet.missing(name)
        if lacking and source is None:
            raise Refused(f"VCL {name} is not loaded on {', '.join(lacking)} and its source is not "
                          f"in {files.dir}: release again instead")
        for admin in fleet.admins:
            if admin.active_vcl() == name:
                continue
            if str(admin.address) in lacking:
                admin.vcl_inline(name, source, "warm")
            admin.vcl_use(name)
            fixed.append(str(admin.address))
    ctx.say(f"reconcile {stage.name}: {live} ({name}) put back on {', '.join(fixed)}" if fixed
            else f"reconcile {stage.name}: every instance already serves {live}")
    return Result(live, {"stage": stage.name, "live": live, "fixed": fixed})
