"""rollback --stage S: the previous color goes live again, after checking it still can.

By the previous color's readiness: hot is one vcl.use; retired is first deployed again and
checked as verify checks it; contracted is refused (roll forward). Watch rolls back through
this same code path (reason "watch").
"""

from contextlib import nullcontext

from bluegreen.checks import http, preview
from bluegreen.context import Result
from bluegreen.errors import CheckFailed, DeployError, Refused
from bluegreen.records import lifecycle
from bluegreen.records.decide import drift_advice, instance_colors, varnish_live
from bluegreen.records.state import State
from bluegreen.steps import _color
from bluegreen.steps._common import cool_the_rest, vcl_source
from bluegreen.steps._outputs import write_outputs
from bluegreen.varnish import vcl


def run(ctx, args) -> Result:
    return roll_back(ctx, ctx.config.stage(args.stage), reason="manual")


def roll_back(ctx, stage, reason: str, fleet=None, observed: dict | None = None) -> Result:
    """The rollback code path, for the rollback step and for watch (reason "watch", through the
    fleet it has open, and compare-and-swap on `observed`: what each instance served while it
    watched; a stage that moved since is not watch's to roll back)."""
    config = ctx.config
    files = ctx.files(stage)
    store = ctx.store()
    state = store.load(files, config.app)
    if not state or not state.live:
        raise Refused(f"nothing is recorded live for stage {stage.name}: nothing to roll back")
    live, target = state.live, state.previous
    key = f"rollback-{len(state.history)}"
    with ctx.fleet(stage) if fleet is None else nullcontext(fleet) as fleet, \
            store.writing(files, config.app, state.generation, key) as commit:
        lives = fleet.lives()
        if observed is not None and lives != observed:
            raise Refused(f"stage {stage.name} no longer serves what was watched: "
                          + ", ".join(f"{i} serves {lives.get(i)} (watched {v})" for i, v in observed.items()
                                      if lives.get(i) != v)
                          + "; another run switched since: not rolling it back; nothing was switched")
        _before_rollback(ctx, stage, fleet, state)
        colors = instance_colors(config.app, stage.name, lives)
        if target and set(colors.values()) == {live, target}:
            ctx.say(f"{stage.name}: a rollback to {target} stopped halfway; finishing it")
            served = live
        else:
            served = varnish_live(stage.name, colors)
        if state.last and state.last.action == "rollback" and served == live:
            ctx.say(f"{stage.name}: already rolled back to {live}; nothing to do "
                    "(release again to go forward)")
            return _answer(ctx, stage, files, state, fleet, already=True)
        targets = {i: state.color(target).vcl_on(i) for i in lives} if target else {}
        if not target or not all(targets.values()):
            raise Refused(f"no previous color is recorded for stage {stage.name}: nothing to roll back to")
        if served == target:
            ctx.say(f"{stage.name}: Varnish already serves {target}; recording the rollback")
            window = 0.0
        else:
            _check_ready(ctx, config, stage, files, store, fleet, state, served, targets)
            window = fleet.switch(targets, lives, stage.name).window_ms
        state = commit(state.switched(to=target, release=None, now=targets, before=lives,
                                      window_ms=window, instances=len(lives), forced=False,
                                      action="rollback", build=ctx.build(), key=key, reason=reason))
        cool_the_rest(ctx, stage, fleet, state)
        ctx.say(f"rollback {stage.name}: {target} {state.release_of(target)} is live again; switch "
                f"window {window:.3f} ms")
        return _answer(ctx, stage, files, state, fleet, already=False)


def _check_ready(ctx, config, stage, files, store, fleet, state: State, served,
                 targets: dict[str, str]) -> None:
    """The previous color still runs its release, healthy, and each VCL it is to be served with
    is loaded (again, from its source, where it is gone), warm, its probes healthy."""
    live, target = state.live, state.previous
    release = state.release_of(target)
    if served != live:
        raise Refused(f"Varnish serves {served or 'no color'} but the record says {live} is live: "
                      f"{drift_advice(stage.name, served, live)}")
    headers = http.host_header(config)
    for server in stage.color_servers(target):
        answer = http.get(server, config.checks.version_path, config.checks.timeout_s, headers)
        seen = http.release_of(answer)
        health = http.get(server, config.checks.health_path, config.checks.timeout_s, headers)
        if seen != release or not health.ok:
            raise Refused(f"cannot roll back {stage.name} to {target}: {server} runs "
                          f"{seen or http.describe(answer)} (health {http.describe(health)}), "
                          f"expected {release} and healthy; release again instead; nothing live changed")
    for name in sorted(set(targets.values())):
        on = {i for i, n in targets.items() if n == name}
        source = None
        if set(fleet.missing(name)) & on:
            source = vcl_source(ctx, stage, files, name, store)
            if source is None:
                raise Refused(f"VCL {name} for {target} is no longer loaded, its source is not in "
                              f"{files.dir} nor in the store, and the configuration no longer renders "
                              "it: release again instead; nothing live changed")
        fleet.prepare({name: source}, config.vcl.compile_timeout_s, on)  # loads, or warms a cold one
        healthy, seen = fleet.wait_healthy(name, target, config.checks.wait_s, on=on)
        if not healthy:
            raise Refused(f"cannot roll back {stage.name} to {target}: Varnish's probes in {name} "
                          f"still see {seen} after {config.checks.wait_s:g} s; nothing live changed")


def _answer(ctx, stage, files, state: State, fleet, already: bool) -> Result:
    write_outputs(ctx, stage, files, state, fleet)
    return Result(state.live, {"stage": stage.name, "live": state.live, "already": already,
                               "release": state.release_of(state.live)})


# -- readiness: what rollback does first (hot: nothing; retired: redeploy; contracted: refuse) --

def _before_rollback(ctx, stage, fleet, state: State) -> None:
    action = lifecycle.rollback_action(state, _nothing_contracted(ctx, state))
    if action.action == lifecycle.REFUSE:
        raise Refused(f"{action.why}; nothing live changed")
    if action.action != lifecycle.REDEPLOY:
        return
    color, release = action.color, action.release
    colors = instance_colors(ctx.config.app, stage.name, fleet.lives())
    if color in colors.values():
        return  # a rollback killed during or after its switch (it redeployed and verified first)
    ctx.say(f"rollback {stage.name}: this takes longer: {action.why}")
    _redeploy(ctx, stage, fleet, color, release)


def _nothing_contracted(ctx, state: State) -> bool:
    """A contract recorded as started and not finished: does schema.pending say all of it is
    still pending (so nothing of it ran)? False when it cannot tell."""
    started = lifecycle.unfinished_contract(state)
    if started is None or ctx.config.schema is None or not ctx.config.schema.pending:
        return False
    from bluegreen.schema import migrations

    return "contract" in (migrations.pending(ctx, started.release) or ())


def _redeploy(ctx, stage, fleet, color: str, release: str) -> None:
    """The release back onto a retired color, checked as verify checks it: its servers, then
    through every Varnish with the preview header, then the smoke command (invariant 1 holds: the
    caller saw that no instance serves `color`). roll_back then loads the color's VCL if it is
    gone, waits for Varnish's probes and switches, as for a hot color."""
    config = ctx.config
    outcomes = _color.deploy_servers(ctx, config, stage, color, release)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise DeployError(f"rollback {stage.name}: redeploying {release} onto {color} failed on "
                          + "; ".join(f"{o.server}: {o.detail}" for o in failed)
                          + "; nothing live changed")
    # invariant 6: what the color cached for another release since (a preview of an abandoned
    # release, say) must not be served once it is live again
    fleet.ban(vcl.ban_of_color(config.app, stage.name, color))
    deadline = http.Deadline(config.checks.wait_s)
    results = _color.check_servers(ctx, config, stage, color, release, deadline)
    if not any(not c.ok for c in results):  # then as verify does: through Varnish, smoke
        token = preview.read_token(config)
        results += [_color.check_through_varnish(config, front, color, release, token, deadline)
                    for front in preview.addresses(stage)]
        if config.checks.smoke:
            results.append(_color.check_smoke(config, stage, color, release))
    bad = [c for c in results if not c.ok]
    if bad:
        raise CheckFailed(f"rollback {stage.name}: {color} {release} was redeployed but does not "
                          f"pass: {bad[0].name}: {bad[0].detail}; nothing live changed")
    ctx.say(f"rollback {stage.name}: {color} {release} is back and healthy; switching")
