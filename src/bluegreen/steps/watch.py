"""watch --stage S: after the switch, judge the new live color interval by interval; on the first
failing interval roll back at once through the rollback code path, while the previous color is
`hot`. The verdict (release, intervals with their figures, outcome) goes into state.json under
`watch`, the report and OUT/S/junit-watch.xml. Exit 0 passed, 1 failed (or inconclusive with
on_inconclusive fail/rollback, or a rollback that was not possible), 3 the source could not be read.
"""

from __future__ import annotations

import time

from bluegreen.context import Result
from bluegreen.errors import BluegreenError, CheckFailed, Drift, MetricsError, Refused
from bluegreen.model import now_iso
from bluegreen.records.decide import instance_colors, varnish_live
from bluegreen.records.files import write_text
from bluegreen.records.lifecycle import parse_at
from bluegreen.records.state import State
from bluegreen.steps._outputs import write_outputs
from bluegreen.watch import verdict


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    if config.watch is None:
        ctx.say(f"watch {stage.name}: not configured, skipped ([watch] is absent from {config.path})")
        return Result("not configured, skipped", {"stage": stage.name, "configured": False})
    files = ctx.files(stage)
    state = ctx.store().load(files, config.app)
    if not state or not state.live:
        raise Refused(f"nothing is recorded live for stage {stage.name}: nothing to watch (run "
                      "'watch' after 'switch' and 'record')")
    done = _already_watched(state)
    if done:
        ctx.say(f"watch {stage.name}: this switch was already watched: {done['verdict']} "
                f"({done['why']}); nothing to do")
        return _end(stage, {"stage": stage.name, **done, "already": True}, None)
    with ctx.fleet(stage) as fleet:
        observed = _guard_served(ctx, stage, fleet, state)
        return _watch(ctx, stage, files, fleet, state, _source(config.watch, stage, config.app), observed)


def _end(stage, data: dict, error: BluegreenError | None) -> Result:
    """The watch's answer: its verdict on stdout, and the exit its record says (an error carries
    the verdict's data to the CLI)."""
    code, text = data["exit"], data["verdict"]
    if error is not None:
        error.data, error.text = data, text
        raise error
    if code == 0:
        return Result(text, data)
    failure = MetricsError if code == 3 else CheckFailed
    raise failure(f"watch {stage.name}: {str(text).upper()}: {data['why']}", data, text)


def _watch(ctx, stage, files, fleet, state, source, observed: dict) -> Result:
    settings = ctx.config.watch
    rules = verdict.Rules(settings.max_error_rate, settings.min_requests, settings.on_inconclusive)
    live, previous = state.live, state.previous
    readiness = state.readiness_of(previous)  # a record older than readiness: hot
    record = _new_record(state, settings, source, live, previous)
    planned = verdict.intervals(settings.seconds, settings.interval_s)
    ctx.say(f"watch {stage.name}: {live} {record['release']} for {settings.seconds:g} s in {planned} "
            f"interval(s) of {settings.interval_s:g} s, from {source.describe()}; threshold "
            f"{verdict.percent(settings.max_error_rate)}, at least {settings.min_requests} requests")
    if previous and readiness != "hot":
        ctx.say(f"watch {stage.name}: {previous} is {readiness or 'of unknown readiness'}, not hot: "
                "a failing verdict will not roll back")
    error: BluegreenError | None = None
    try:
        _observe(ctx, stage, state, source, rules, record, planned)
    except MetricsError as exc:
        error = exc
        record.update(verdict="error", why=exc.message, exit=exc.exit_code)
        if ctx.config.watch.on_source_error == "rollback":  # blind after a switch: go back, exit 3
            error = _roll_back(ctx, stage, files, fleet, record, previous, readiness, observed) or exc
            if (record.get("rollback") or {}).get("done"):
                error = MetricsError(exc.message.replace("; nothing was rolled back", "")
                                     + f"; rolled back to {previous} (watch.on_source_error)")
                record["why"] = error.message
    else:
        result = verdict.outcome(record["intervals"], rules)
        record.update(verdict=result["verdict"], why=result["why"], exit=result["exit"])
        if result["rollback"]:
            error = _roll_back(ctx, stage, files, fleet, record, previous, readiness, observed)
    record["finished"] = now_iso()
    state = _save(ctx, stage, files, fleet, state, record, rules)
    if not error and record["exit"] == 0:
        ctx.say(f"watch {stage.name}: {record['verdict'].upper()}: {record['why']}")
    return _end(stage, {"stage": stage.name, **record, "live": state.live}, error)


def _observe(ctx, stage, state, source, rules, record, planned) -> None:
    settings = ctx.config.watch
    live = record["color"]
    baseline = source.begin(live, record["previous"], parse_at(state.switch.at if state.switch else None))
    record["baseline"] = baseline
    start = time.monotonic()
    try:
        for n in range(1, planned + 1):
            _sleep_until(start + n * settings.interval_s)
            figures = source.figures(live, time.time(), settings.interval_s)
            entry = {**verdict.judge(n, figures, rules, baseline), "at": now_iso()}
            record["intervals"].append(entry)
            ctx.say(verdict.line(stage.name, live, entry, planned))
            if entry["verdict"] == verdict.FAIL:
                return
    finally:
        source.end()


def _roll_back(ctx, stage, files, fleet, record, previous, readiness,
               observed: dict) -> BluegreenError | None:
    """Roll back through the rollback code path; the error when it refused or failed."""
    if not previous or readiness != "hot":
        why = (f"cannot roll back to {previous}: it is {readiness or 'of unknown readiness'}, not "
               f"hot; nothing was switched: roll forward with a fixed release, or run "
               f"'rollback --stage {stage.name}'" if previous else
               "cannot roll back: no previous color is recorded; nothing was switched")
        record["rollback"] = {"done": False, "why": why}
        record["why"] += f"; {why}"
        ctx.say(f"watch {stage.name}: {why}")
        return None
    from bluegreen.steps.rollback import roll_back

    ctx.say(f"watch {stage.name}: {record['why']}: rolling back to {previous}")
    try:
        answer = roll_back(ctx, stage, reason="watch", fleet=fleet, observed=observed)
    except BluegreenError as exc:
        record["rollback"] = {"done": False, "to": previous, "why": exc.message}
        record.update(why=record["why"] + f"; the rollback failed: {exc.message}",
                      exit=max(record["exit"], exc.exit_code))
        return exc
    if answer.data.get("already"):  # not this watch's doing: never record it as one
        record["rollback"] = {"done": False, "to": previous, "why": "it was rolled back already"}
        return None
    rolled = files.read_local_state(ctx.config.app)
    last = rolled.last if rolled else None
    record["rollback"] = {"done": True, "to": answer.data.get("live"), "release":
                          answer.data.get("release"), "at": last.at if last else None,
                          "key": last.key if last else None}
    return None


def _save(ctx, stage, files, fleet, state: State, record, rules) -> State:
    """Add the verdict to what is recorded now (a rollback's record stays as it wrote it)."""
    from bluegreen.checks import junit

    rolled = (record.get("rollback") or {}).get("done")
    base = (files.read_local_state(ctx.config.app) if rolled else None) or state
    try:
        with ctx.store().writing(files, ctx.config.app, base.generation) as commit:
            state = commit(base.updated(watch=record))
    except Refused as exc:  # another run changed the record meanwhile: it stays as that run wrote it
        ctx.say(f"WARNING: watch {stage.name}: its verdict is not added to the record: {exc.message}")
        state = base
    write_text(files.dir / "junit-watch.xml",
               junit.render_watch(stage.name, record, rules.on_inconclusive, now_iso()))
    write_outputs(ctx, stage, files, state, fleet)
    return state


def _new_record(state: State, settings, source, live, previous) -> dict:
    went = state.went_live()
    return {"release": state.release_of(live), "color": live,
            "previous": previous, "source": source.name, "started": now_iso(), "finished": None,
            "switch_key": went.key if went else None, "intervals": [], "verdict": None, "why": None,
            "exit": None, "rollback": None,
            "settings": {"seconds": settings.seconds, "interval_s": settings.interval_s,
                         "max_error_rate": settings.max_error_rate,
                         "min_requests": settings.min_requests,
                         "on_inconclusive": settings.on_inconclusive}}


def _already_watched(state: State) -> dict | None:
    """The finished verdict on the switch now recorded live (a source error is watched again)."""
    record = state.current_watch()
    return record if record and record.get("exit") != 3 else None


def _guard_served(ctx, stage, fleet, state: State) -> dict:
    """Watch what Varnish serves; when it is not the recorded live color, say so and stop. What
    each instance serves: a rollback is compare-and-swap on it."""
    lives = fleet.lives()
    served = varnish_live(stage.name, instance_colors(ctx.config.app, stage.name, lives))
    if served != state.live:
        raise Drift(f"Varnish serves {served or 'no color'} but the record says {state.live} is "
                    f"live: run 'status --stage {stage.name}' to see the drift; nothing was watched")
    return lives


def _source(settings, stage, app: str):
    if settings.source == "prometheus":
        from bluegreen.watch.prometheus import PrometheusSource

        return PrometheusSource(settings, stage.name)
    from bluegreen.watch.varnishlog import VarnishLogSource

    return VarnishLogSource(settings, stage, app)


def _sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
