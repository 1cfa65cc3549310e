"""retire --stage S [--now]: after the rollback window, stop the previous color, then contract.

    1. refuse inside the rollback window (retire.after_s since the switch) unless --now, and
       while any Varnish instance serves another VCL than the recorded live one (it could route
       to the previous color other than through preview)
    2. fence the previous color off from rollbacks: record it `retired` (a rollback now
       redeploys it; one that read the record before is refused by its compare-and-swap), then
       set its VCL cold on every instance (Varnish refuses vcl.use of a cold VCL)
    3. retire.command on every server of the previous color (stop or shrink; must be
       idempotent), each only while no instance serves it; then none may answer any more
    4. schema.contract with {version} = the live release: recorded as started before it runs
       (a contract that does not finish counts as contracted for rollback), then as finished
       with readiness `contracted`

The whole step holds the stage's lock and writes the record compare-and-swap on its generation.
Each part is recorded as soon as it is done, so a rerun after a kill or a failure converges: a
retired color whose servers are quiet is not stopped again, a finished contraction not run again.
"""

from __future__ import annotations

import time

from bluegreen import commands
from bluegreen.checks import http
from bluegreen.context import Result
from bluegreen.errors import ConfigError, Refused, RetireError
from bluegreen.model import now_iso
from bluegreen.records import lifecycle
from bluegreen.records.state import Event, State
from bluegreen.schema import migrations
from bluegreen.steps._outputs import write_outputs


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    if config.retire is None or not config.retire.command:
        raise ConfigError("retire.command: is required to retire: the argv that stops one server, "
                          'e.g. command = ["./stop.sh", "{host}", "{port}", "{color}"]')
    files = ctx.files(stage)
    store = ctx.store()
    state = store.load(files, config.app)
    color, release, live_release = _parties(state, stage.name)
    contract = bool(config.schema and config.schema.contract)
    with ctx.fleet(stage) as fleet, store.writing(files, config.app, state.generation) as commit:
        kind = state.readiness_of(color)
        done = state.migration("contract", live_release)
        quiet = kind in ("retired", "contracted") and _quiet(config, stage, color)[0]
        if kind == "contracted" or (quiet and not contract and done is None):
            ctx.say(f"retire {stage.name}: {color} {release} is already {kind}; nothing to do")
            return _answer(ctx, stage, files, state, fleet, color, already=True)
        _check_window(ctx, state, stage.name, config.retire.after_s, bool(args.now))
        _check_routes(stage, fleet, state)
        if not quiet:
            state = _retire(ctx, stage, fleet, commit, state, color, release)
        if contract or done is not None:
            state = _contract(ctx, stage, commit, state, color, release, live_release)
        return _answer(ctx, stage, files, state, fleet, color, already=False)


def _retire(ctx, stage, fleet, commit, state: State, color: str, release: str | None) -> State:
    """Fence the color off from rollbacks, first by the record (retired: a rollback redeploys
    it, and one that read the record before fails its compare-and-swap), then at Varnish (its
    VCL cold: vcl.use of it is refused), then stop its servers, checking before each stop that
    no instance serves it."""
    if state.readiness_of(color) != "retired":
        state = commit(state.with_readiness(color, "retired").with_event(
            Event(now_iso(), "retire", color, None, release, _number(ctx))))
    names = {v for v in [state.vcl_of(color), *(state.color(color).served or {}).values()] if v}
    loaded = fleet.listing()
    fleet.ask({a: [f"vcl.state {e['name']} cold" for e in loaded[str(a.address)]
                   if e["name"] in names and e.get("state") != "cold"] for a in fleet.admins})
    _stop(ctx, ctx.config, stage, fleet, state, color, release)
    ctx.say(f"retire {stage.name}: {color} {release} is retired (stopped); rollback to it now "
            "takes a redeploy")
    return state


def _contract(ctx, stage, commit, state: State, color: str, release, live_release: str) -> State:
    """schema.contract, recorded as started before it runs: a contract that does not finish
    counts as contracted for rollback (unless schema.pending shows nothing of it ran)."""
    done = state.migration("contract", live_release)
    if done is None or not done.finished:
        state = commit(state.with_migration("contract", live_release, now_iso(), finished=False))
        migrations.contract(ctx, live_release)
        state = state.with_migration("contract", live_release, now_iso())
        found = migrations.read_catalogue(ctx)  # what the live release now runs on
        state = state.updated(catalogue=found) if found is not None else state
    state = commit(state.with_readiness(color, "contracted").with_event(
        Event(now_iso(), "contract", color, None, release, _number(ctx),
              reason=f"schema contracted for {live_release}")))
    ctx.say(f"retire {stage.name}: schema contracted for {live_release}; {color} {release} "
            "can no longer be rolled back to (roll forward instead)")
    return state


def _number(ctx):
    return (ctx.build() or {}).get("number")


def _parties(state: State | None, stage: str) -> tuple[str, str | None, str | None]:
    if not state or not state.live or not state.previous:
        raise Refused(f"nothing to retire in stage {stage}: no previous color is recorded")
    return state.previous, state.release_of(state.previous), state.release_of(state.live)


def _check_window(ctx, state, stage: str, after_s: float, now_flag: bool) -> None:
    left = lifecycle.window_left(state, after_s, time.time())
    if left is not None and left <= 0:
        return
    at = (state.switch.at if state.switch else None) or "an unrecorded time"
    if now_flag:
        ctx.say(f"retire {stage}: --now: the rollback window ({after_s:g} s after the switch at "
                f"{at}) is cut short")
        return
    when = (f"it ends in {left:.0f} s" if left is not None else "no switch time is recorded")
    raise Refused(f"retire {stage}: inside the rollback window: {state.live} went live at {at} "
                  f"and retire.after_s is {after_s:g} s ({when}); until then rollback to "
                  f"{state.previous} is one vcl.use; retire later, or with --now; nothing changed")


def _check_routes(stage, fleet, state: State) -> None:
    stray = lifecycle.stray_instances(state, fleet.lives())
    if stray:
        live_vcl = state.vcl_of(state.live)
        detail = ", ".join(f"{inst} serves {name or 'nothing'}" for inst, name in stray.items())
        raise Refused(f"retire {stage.name}: not every Varnish instance serves the live VCL "
                      f"{live_vcl}: {detail}; the previous color may still take traffic: run "
                      f"'status --stage {stage.name}' (and 'reconcile' if it drifted); nothing changed")


def _stop(ctx, config, stage, fleet, state: State, color: str, release: str | None) -> None:
    """retire.command on every server of the color, each only while no instance serves it (a
    rollback that got past the fences would find its servers stopped), then none may answer."""
    servers = stage.color_servers(color)
    jobs = [(s, commands.fill(config.retire.command, {"host": s.host, "port": str(s.port),
                                                      "color": color, "version": release or ""}))
            for s in servers]

    def still_fenced() -> str | None:
        stray = lifecycle.stray_instances(state, fleet.lives())
        return (f"{', '.join(stray)} no longer serve(s) the live VCL {state.vcl_of(state.live)}"
                if stray else None)

    ctx.say(f"retire {stage.name}: stopping {color} {release} on {len(servers)} server(s)")
    outcomes = commands.per_server(jobs, config.base_dir, config.deploy.parallel, config.retire.timeout_s,
                                   pass_secrets=config.deploy.pass_secrets, guard=still_fenced)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise RetireError(f"retire.command failed on {len(failed)} of {len(outcomes)} {color} "
                          "server(s): " + "; ".join(f"{o.server}: {o.detail}" for o in failed)
                          + f"; {color} is recorded retired (a rollback redeploys it): fix it and run "
                          "retire again")
    quiet, answering = _quiet(config, stage, color, config.checks.wait_s)
    if not quiet:
        raise RetireError(f"retire.command ran, but {answering} still answer(s) "
                          f"{config.checks.health_path} after {config.checks.wait_s:g} s: it should "
                          f"stop them; {color} is recorded retired (a rollback redeploys it); run "
                          "retire again")


def _quiet(config, stage, color: str, wait_s: float = 0.0) -> tuple[bool, str]:
    """Whether no server of the color answers (within wait_s); the ones that still do."""
    timeout, headers = config.checks.timeout_s, http.host_header(config)

    def silent():
        answering = [str(s) for s in stage.color_servers(color)
                     if http.get(s, config.checks.health_path, timeout, headers).status is not None]
        return not answering, ", ".join(answering)

    quiet, answering, _ = http.Poll(wait_s).until(silent)
    return quiet, answering


def _answer(ctx, stage, files, state: State, fleet, color, already: bool) -> Result:
    write_outputs(ctx, stage, files, state, fleet)
    kind = state.readiness_of(color)
    action = lifecycle.rollback_action(state)
    return Result(kind, {"stage": stage.name, "color": color, "readiness": kind,
                         "already": already, "migrations": [m.to_json() for m in state.migrations],
                         "rollback": {"action": action.action, "color": action.color,
                                      "release": action.release, "why": action.why}})
