"""rollback --stage S: the previous color goes live again, after checking it still can."""

from bluegreen import checks
from bluegreen.context import Result
from bluegreen.errors import Refused
from bluegreen.plan import after_switch, drift_advice, instance_colors, varnish_live
from bluegreen.steps import record
from bluegreen.steps._common import cool_the_rest, vcl_source


def run(ctx, args) -> Result:
    return roll_back(ctx, ctx.config.stage(args.stage), reason="manual")


def roll_back(ctx, stage, reason: str) -> Result:
    """The rollback code path, for the rollback step and for watch (reason "watch")."""
    config = ctx.config
    files = ctx.files(stage)
    store = ctx.store()
    state = store.load(files, config.app)
    if not state or not state.get("live"):
        raise Refused(f"nothing is recorded live for stage {stage.name}: nothing to roll back")
    live, target = state["live"], state.get("previous")
    last = (state.get("history") or [{}])[-1]
    target_info = (state.get("colors") or {}).get(target or "", {})
    # -- schema/readiness (issue 10): contracted refuses; retired is redeployed and verified first
    from bluegreen.revive import before_rollback
    before_rollback(ctx, stage, state)
    # -- end schema/readiness
    with ctx.fleet(stage) as fleet:
        lives = fleet.lives()
        colors = instance_colors(config.app, stage.name, lives)
        if target and set(colors.values()) == {live, target}:
            ctx.say(f"{stage.name}: a rollback to {target} stopped halfway; finishing it")
            served = live
        else:
            served = varnish_live(stage.name, colors)
        if last.get("action") == "rollback" and served == live:
            ctx.say(f"{stage.name}: already rolled back to {live}; nothing to do "
                    "(release again to go forward)")
            return _answer(ctx, stage, files, state, already=True)
        if not target or not target_info.get("vcl"):
            raise Refused(f"no previous color is recorded for stage {stage.name}: nothing to roll back to")
        if served == target:
            ctx.say(f"{stage.name}: Varnish already serves {target}; recording the rollback")
            window = 0.0
        else:
            _check_ready(ctx, config, stage, files, store, fleet, target, target_info, served, live)
            window = fleet.switch(target_info["vcl"], lives, stage.name).window_ms
        state = after_switch(state, config.app, stage.name, to=target, release=None, vcls={},
                             window_ms=window, instances=len(lives), forced=False, action="rollback",
                             build=ctx.build(), key=f"rollback-{len(state.get('history') or [])}",
                             reason=reason)
        files.write_state(state)
        cool_the_rest(ctx, stage, fleet, state)
    ctx.say(f"rollback {stage.name}: {target} {target_info.get('release')} is live again; switch "
            f"window {window:.3f} ms")
    return _answer(ctx, stage, files, state, already=False)


def _check_ready(ctx, config, stage, files, store, fleet, target, info, served, live):
    if served != live:
        raise Refused(f"Varnish serves {served or 'no color'} but the record says {live} is live: "
                      f"{drift_advice(stage.name, served, live)}")
    release = info.get("release")
    headers = checks.host_header(config)
    for server in stage.color_servers(target):
        answer = checks.get(server, config.checks.version_path, config.checks.timeout_s, headers)
        seen = checks.release_of(answer)
        health = checks.get(server, config.checks.health_path, config.checks.timeout_s, headers)
        if seen != release or not health.ok:
            raise Refused(f"cannot roll back {stage.name} to {target}: {server} runs "
                          f"{seen or checks.describe(answer)} (health {checks.describe(health)}), "
                          f"expected {release} and healthy; release again instead; nothing live changed")
    source = None
    if fleet.missing(info["vcl"]):
        source = vcl_source(ctx, stage, files, info["vcl"], store)
        if source is None:
            raise Refused(f"VCL {info['vcl']} for {target} is no longer loaded, its source is not in "
                          f"{files.dir} nor in the store, and the configuration no longer renders "
                          "it: release again instead; nothing live changed")
    fleet.prepare({info["vcl"]: source}, config.vcl.compile_timeout_s)  # loads, or warms a cold one
    healthy, seen = fleet.wait_healthy(info["vcl"], target, config.checks.wait_s)
    if not healthy:
        raise Refused(f"cannot roll back {stage.name} to {target}: Varnish's probes in {info['vcl']} "
                      f"still see {seen} after {config.checks.wait_s:g} s; nothing live changed")


def _answer(ctx, stage, files, state, already):
    record.write_outputs(ctx, stage, files, state)
    live = state["live"]
    return Result(live, {"stage": stage.name, "live": live, "already": already,
                         "release": (state.get("colors") or {}).get(live, {}).get("release")})
