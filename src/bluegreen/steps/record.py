"""record --stage S: state.json, report.html (+ report.css) and summary.txt."""

from bluegreen.context import Result
from bluegreen.errors import Refused
from bluegreen.plan import initial_state, instance_colors, varnish_live


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    state = _current_state(ctx, config, stage, files)
    files.write_state(state)
    summary = write_outputs(ctx, stage, files, state)
    ctx.say(f"record {stage.name}: {files.state_path}, {files.report_path}, {files.summary_path}")
    return Result(summary, {"stage": stage.name, "summary": summary, "state": state,
                            "report": str(files.report_path)})


def _current_state(ctx, config, stage, files) -> dict:
    """This run's switch if it made one, else the recorded state, else what Varnish serves."""
    try:
        plan = files.read_plan("record")
    except Refused:  # no plan: record what is known
        plan = None
    if plan and plan.get("switched"):
        local = files.read_local_state(config.app)
        if local:
            return local
    state = ctx.store().load(files, config.app)
    if state:
        return state
    state = initial_state(config.app, stage.name)
    with ctx.fleet(stage) as fleet:
        state["live"] = varnish_live(stage.name, instance_colors(config.app, stage.name,
                                                                 fleet.actives()))
    return state


def write_outputs(ctx, stage, files, state) -> str:
    from bluegreen import report

    facts = report.gather(ctx, stage, files, state)
    return report.write(files, facts)
