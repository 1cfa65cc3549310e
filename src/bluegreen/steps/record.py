"""record --stage S: state.json, report.html (+ report.css) and summary.txt.

What it records must be what Varnish serves: a record that disagrees with Varnish is refused
(exit 1, the drift shown), never written as LIVE.
"""

from bluegreen.context import Result
from bluegreen.errors import Drift, Refused
from bluegreen.records.decide import drift_advice, instance_colors, varnish_live
from bluegreen.records.state import State
from bluegreen.steps._outputs import write_outputs


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    state, source = _current_state(ctx, config, stage, files)
    with ctx.fleet(stage) as fleet:
        lives = fleet.lives()
        served = varnish_live(stage.name, instance_colors(config.app, stage.name, lives))
        if state is None:
            if served is not None:
                raise Drift(f"Varnish serves {served} in stage {stage.name} but nothing is recorded: "
                            f"run 'adopt --stage {stage.name} --reason ...' to record it")
            state = State(config.app, stage.name)
        check_matches(stage.name, state, source, served, lives)
        _keep(files, config.app, state)
        summary = write_outputs(ctx, stage, files, state, fleet)
    ctx.say(f"record {stage.name}: {files.state_path}, {files.report_path}, {files.summary_path}")
    return Result(summary, {"stage": stage.name, "summary": summary, "state": state.to_json(),
                            "report": str(files.report_path)})


def check_matches(stage: str, state: State, source: str, served, lives: dict) -> None:
    """Drift unless Varnish serves the recorded live color, with the recorded VCL, everywhere."""
    recorded = state.live
    if served != recorded:
        raise Drift(f"Varnish serves {served or 'no color of ours'} in stage {stage} but {source} "
                    f"says {recorded or 'nothing is live'}: not recording it; "
                    f"{drift_advice(stage, served, recorded)}")
    vcl = state.vcl_of(recorded)
    other = {i: v for i, v in lives.items() if recorded and vcl and v != vcl}
    if other:
        raise Drift(f"stage {stage} serves {recorded}, but not the VCL {source} records ({vcl}): "
                    + ", ".join(f"{i} serves {v}" for i, v in other.items())
                    + f"; another run switched: run 'status --stage {stage}'")


def _keep(files, app: str, state: State) -> None:
    """The record as read, into OUT/S/ (the artifact of this run); never over a newer one."""
    with files.lock():
        current = files.read_local_state(app)
        if current is not None and current.generation > state.generation:
            raise Refused(f"{files.state_path} holds a newer record (generation {current.generation}) "
                          f"than the one read ({state.generation}): another run wrote it since; "
                          f"run 'record --stage {files.stage}' again")
        files.write_state(state)


def _current_state(ctx, config, stage, files) -> tuple[State | None, str]:
    """This run's switch if it made one, else the recorded state."""
    try:
        plan = files.read_plan("record")
    except Refused:  # no plan: record what is known
        plan = None
    if plan and plan.switched:
        local = files.read_local_state(config.app)
        if local:
            return local, "this run's switch"
    store = ctx.store()
    return store.load(files, config.app), store.description
