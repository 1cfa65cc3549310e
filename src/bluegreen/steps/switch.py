"""switch --stage S: the passive color goes live on every Varnish instance at once.

With [warmup], the target color's cache is warmed through every instance first (best effort).
"""


from bluegreen.context import Result
from bluegreen.errors import Refused
from bluegreen.records.plan import Plan, Switched
from bluegreen.records.state import State
from bluegreen.steps._common import cool_the_rest


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    plan = files.read_plan("switch")
    target, release = plan.passive, plan.release
    forced = bool(getattr(args, "force", False))
    check_verified(plan, stage.name, forced)
    check_compared(plan, stage.name, forced)
    if forced:
        ctx.say(f"WARNING: --force: switching {stage.name} to {target} {release} without a passed "
                "verify; this is recorded in the state and the report")
    name = plan.target_vcl
    before = plan.previous_state or State(config.app, stage.name)
    store = ctx.store()
    with ctx.fleet(stage) as fleet, store.writing(files, config.app, before.generation, plan.id) as commit:
        lives = fleet.lives()
        if all(v == name for v in lives.values()) and lives != plan.expected:
            _check_release_still_there(config, stage, target, release, already=True)
            ctx.say(f"{stage.name}: {target} is already live on every instance; recording it")
            done = plan.switched
            window, count = (done.window_ms or 0.0) if done else 0.0, len(lives)
            warmed, catalogue = (done.warmup if done else None), None
        else:
            warm = _warmup_input(ctx, stage, plan, args)  # a bad file: exit 2 before anything moves
            if warm is not None:  # warm healthy servers; the checks below then come after it
                _wait_for_probes(ctx, config, stage, fleet, name, target)
            warmed = _warm(ctx, stage, target, warm)
            if not forced:  # the last moment: nothing may change between these checks and the move
                _check_release_still_there(config, stage, target, release)
            catalogue = _check_schema(ctx, config, stage.name, release, before)
            _wait_for_probes(ctx, config, stage, fleet, name, target)
            result = fleet.switch(name, plan.expected, stage.name)
            window, count = result.window_ms, result.instances
        state = before.switched(to=target, release=release, now={i: name for i in plan.expected},
                                before=plan.expected, window_ms=window, instances=count, forced=forced,
                                action="switch", build=ctx.build(), key=plan.id)
        if catalogue is not None:  # what the database held when this release went live
            state = state.updated(catalogue=catalogue)
        state = commit(state.with_expand(plan.expand, plan.release))  # joins the migrations
        plan.switched = Switched(target, name, window, count, forced, state.switch.at, warmed)
        files.write_plan(plan)
        for line in cool_the_rest(ctx, stage, fleet, state):
            ctx.say(f"  {line}")
    ctx.say(f"switch {stage.name}: {target} {release} is live on {count} instance(s); switch "
            f"window {window:.3f} ms")
    return Result(target, {"stage": stage.name, "live": target, "release": release,
                           "window_ms": window, "instances": count, "forced": forced,
                           "warmup": warmed})


def _warmup_input(ctx, stage, plan: Plan, args):
    """(requests, preview token) for warming the target's cache, read and checked before anything
    moves; None when [warmup] is absent or this switch skips it (saying why)."""
    if ctx.config.warmup is None:
        return None
    from bluegreen.checks import preview
    from bluegreen.compare import warmup
    from bluegreen.compare.requests import read_text

    why = warmup.skip_reason(ctx.config, stage, plan, bool(getattr(args, "no_warmup", False)))
    if why:
        ctx.say(f"warm-up {stage.name}: skipped ({why})")
        return None
    settings = ctx.config.warmup
    text = read_text(settings.requests, warmup.key(settings))
    return (warmup.requests(text, settings, ctx.config.vcl.preview_header),
            preview.read_token(ctx.config))


def _warm(ctx, stage, color: str, warm) -> dict | None:
    """Best effort: failures are said and counted, never raised; the switch goes on."""
    if warm is None:
        return None
    from bluegreen.checks import preview
    from bluegreen.compare import warmup
    from bluegreen.compare.replay import Warm

    (requests, token), config = warm, ctx.config
    targets = warmup.targets(stage)
    ctx.say(f"warm-up {stage.name}: {len(requests)} request(s) through {len(targets)} Varnish "
            f"instance(s) into {color}'s cache")
    sender = Warm(preview.headers(config, color, token), config.vcl.preview_header,
                  config.warmup.timeout_s, config.warmup.concurrency, config.warmup.budget_s)
    tally = sender.run(requests, targets, color)
    for line in tally.lines(stage.name, color):
        ctx.say(line)
    return tally.as_dict()


def _check_schema(ctx, config, stage: str, release: str, before: State) -> dict | None:
    """The shared database right before the move: with schema.pending, it holds the target
    release's expand; with a catalogue (schema.database or schema.inspect), it still holds all
    the live release went live with, whatever this plan says of its expand (an expand refused in
    an earlier plan of the same release stays refused until the catalogue holds it again). The
    catalogue read, to be recorded with the switch; None without one."""
    if config.schema is None:
        return None
    from bluegreen.schema import catalogue, migrations

    if config.schema.pending:
        migrations.require_expanded(ctx, release, f"run 'deploy --stage {stage}' again (it runs "
                                    "schema.expand), then 'verify' and 'switch'; nothing live changed")
    current = migrations.read_catalogue(ctx)
    lost = catalogue.lost(before.catalogue, current) if current is not None and before.catalogue else []
    if lost:
        raise Refused(f"the shared database no longer holds what the live release "
                      f"{before.release_of(before.live)} went live with: {'; '.join(lost)}; not "
                      f"switching {stage} to {release}: repair the database (expand may only add); "
                      "nothing live changed")
    return current


def _wait_for_probes(ctx, config, stage, fleet, name: str, color: str) -> None:
    """Never make a VCL live whose probes do not (yet) see its backends healthy."""
    healthy, seen = fleet.wait_healthy(name, color, config.checks.wait_s)
    if not healthy:
        raise Refused(f"Varnish's probes in {name} do not see {color} healthy after "
                      f"{config.checks.wait_s:g} s ({seen}): not switching {stage.name}; check the "
                      "servers, then run 'switch' again; nothing live changed")


def _check_release_still_there(config, stage, color: str, release: str, already: bool = False) -> None:
    """Invariant 2 at the last moment: every target server still answers the verified release
    (another deploy since verify, by another run or by hand, is refused). When the target is
    already live, this is what keeps a run that lost a race from recording another's release."""
    from bluegreen.checks.release import running_release

    for server in stage.color_servers(color):
        seen, detail = running_release(server, config.checks.version_path, config.checks.timeout_s,
                                       config.checks.host)
        if seen != release:
            if already:
                raise Refused(f"{color} is live on every instance of stage {stage.name}, but {server} "
                              f"answers {detail}, not {release} that this run verified: another "
                              f"pipeline released since this run planned; not recording {release}; "
                              f"run 'status --stage {stage.name}'")
            raise Refused(f"{color} {server} answers {detail}, not {release} that passed verify: "
                          f"it changed since; run 'passive', 'deploy' and 'verify' for stage "
                          f"{stage.name} again; nothing live changed")


def check_verified(plan: Plan, stage: str, forced: bool) -> None:
    target, release = plan.passive, plan.release
    if not release or not plan.target_vcl:
        raise Refused(f"nothing was deployed in this plan: run 'deploy --stage {stage} --version V',"
                      " then 'verify', before 'switch'")
    if forced:
        return
    failed = plan.verify_failed
    if failed and failed.release == release:
        names = ", ".join(failed.failed[:3])
        raise Refused(f"verify failed for {target} {release} ({names}): "
                      f"fix it and run 'verify --stage {stage}' again; nothing live changed")
    verified = plan.verified
    if verified is None or (verified.color, verified.release, verified.vcl) != \
            (target, release, plan.target_vcl):
        raise Refused(f"{target} {release} has not passed verify: run 'verify --stage {stage}' "
                      "before 'switch' (or --force, which is recorded)")


def check_compared(plan: Plan, stage: str, forced: bool) -> None:
    """compare's gate: refuse when compare ran for this release and failed (unless --force); a
    later compare that passes for the same release lifts it, as a later verify does."""
    failed = plan.compare_failed
    if forced or failed is None or (failed.color, failed.release) != (plan.passive, plan.release):
        return
    first = failed.failures[0] if failed.failures else {}
    what = (f"first: {first.get('request')} {first.get('field')}" if first.get("request")
            else f"expected changes not seen: {', '.join(failed.missing[:3])}" if failed.missing
            else "see junit-compare.xml")
    raise Refused(f"compare failed for {failed.color} {failed.release} ({what}): fix the "
                  f"release or declare the change, then run 'compare --stage {stage}' again "
                  "(or --force, which is recorded); nothing live changed")
