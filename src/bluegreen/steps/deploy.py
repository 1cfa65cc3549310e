"""deploy --stage S --version V: the release onto every passive server; both VCLs on Varnish.

    1. the plan still holds (Varnish serves what `passive` saw; the passive color is not live)
    2. both colors' VCL loaded warm on every instance (phase 1 of the switch)
    3. schema.expand, before the passive servers change
    4. the deploy command on every passive server that does not run the release yet
    5. the passive color's cached objects of an older release banned; old VCLs beyond vcl.keep
       discarded
"""

import re

from bluegreen.context import Result, Timer
from bluegreen.errors import DeployError, Refused, UsageError
from bluegreen.records.plan import Plan
from bluegreen.schema import migrations
from bluegreen.steps import _color
from bluegreen.steps._common import guard_plan_holds
from bluegreen.varnish import names, upkeep, vcl

RELEASE_RE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f-][^\s\x00-\x1f\x7f-\x9f]{0,127}")


def run(ctx, args) -> Result:
    config = ctx.config
    release = check_release(args.version)
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    plan = files.read_plan("deploy")
    color = plan.passive
    _refuse_live_release(plan, stage.name, release)
    rendered = vcl.render_both(config, stage)
    with ctx.fleet(stage) as fleet:
        guard_plan_holds(ctx, stage, plan, fleet.lives())
        for name, source in rendered.values():
            files.save_vcl(name, source)
        timer = Timer()
        for action in fleet.prepare(dict(rendered.values()), config.vcl.compile_timeout_s):
            ctx.say(f"  {action}")
        ctx.say(f"vcl {stage.name}: both colors loaded warm on {len(stage.varnish)} instance(s) "
                f"in {timer.seconds:.2f} s")
        guard_plan_holds(ctx, stage, plan, fleet.lives())
        migrations.expand(ctx, stage, files, plan, release)  # before the servers change
        outcomes = _color.deploy_servers(ctx, config, stage, color, release)
        _forget_cached(ctx, stage, fleet, color)
        plan.release, plan.vcl = release, {c: n for c, (n, _) in rendered.items()}
        plan.verified = plan.verify_failed = None
        plan.deploy = [{"server": str(o.server), "ok": o.ok, "detail": o.detail} for o in outcomes]
        files.write_plan(plan)
        _housekeep(ctx, config, stage, fleet, plan)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise DeployError(f"deploy {color} {release} failed on {len(failed)} of {len(outcomes)} "
                          "server(s): " + "; ".join(f"{o.server}: {o.detail}" for o in failed)
                          + "; nothing live changed")
    return Result(color, {"stage": stage.name, "color": color, "release": release,
                          "servers": plan.deploy, "vcl": plan.vcl})


def check_release(release: str | None) -> str:
    if not release:
        raise UsageError("--version is required: name the release to deploy, e.g. --version 1.5.0")
    if not RELEASE_RE.fullmatch(release):
        raise UsageError(f"--version {release!r} is not a usable release: it must not start with "
                         "'-' or hold spaces or control characters (at most 128 characters)")
    return release


def _forget_cached(ctx, stage, fleet, color: str) -> None:
    """Invariant 6: what the passive color cached for an older release (when it was last live)
    must not be served when it goes live again, nor found by a warm-up. Its servers have changed,
    so its objects of this app and stage go (a lurker-friendly ban; other sites keep theirs)."""
    fleet.ban(vcl.ban_of_color(ctx.config.app, stage.name, color))
    ctx.say(f"cache {stage.name}: {color}'s cached objects banned on {len(stage.varnish)} "
            "instance(s) (an older release made them)")


def _refuse_live_release(plan: Plan, stage: str, release: str) -> None:
    """A restarted, replayed or rebuilt build must not deploy what is already live as new."""
    if plan.live and plan.live_release == release:
        raise Refused(f"{release} is already live on {plan.live} in stage {stage}: nothing to release "
                      "(a restarted or replayed build?); to go back to an earlier release, use "
                      f"'rollback --stage {stage}'; nothing live changed")


def _housekeep(ctx, config, stage, fleet, plan: Plan) -> None:
    protect = set(plan.vcl.values()) | {v for v in plan.expected.values() if v}
    if plan.previous_state:
        protect |= {info.vcl for info in plan.previous_state.colors.values() if info.vcl}
    for line in upkeep.housekeep(fleet, lambda n: names.discardable_color(config.app, stage.name, n),
                                 config.vcl.keep, protect):
        ctx.say(f"  {line}")
