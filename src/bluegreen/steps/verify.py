"""verify --stage S: the passive color runs the release, healthy, directly and through Varnish."""

from __future__ import annotations

from bluegreen.checks import http, junit, preview
from bluegreen.checks.junit import Check
from bluegreen.context import Result, Timer
from bluegreen.errors import CheckFailed, Refused
from bluegreen.model import now_iso
from bluegreen.records.files import write_text
from bluegreen.records.plan import Verified, VerifyFailed
from bluegreen.steps import _color
from bluegreen.steps._common import guard_plan_holds


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    plan = files.read_plan("verify")
    color, release = plan.passive, plan.release
    if not release:
        raise Refused(f"nothing was deployed in this plan: run 'deploy --stage {stage.name} "
                      "--version V' before 'verify'")
    timer = Timer()
    deadline = http.Deadline(config.checks.wait_s)  # one deadline for the whole step
    results = _color.check_servers(ctx, config, stage, color, release, deadline)
    with ctx.fleet(stage) as fleet:
        guard_plan_holds(ctx, stage, plan, fleet.lives())
        results += _color.check_probes(ctx, config, fleet, plan.target_vcl, color, stage, deadline)
    if plan.live is None:  # Varnish still serves a VCL of its own: it cannot route a preview
        results += [Check(f"varnish {front} preview {color}", True, "skipped: first release, "
                          "Varnish serves no VCL of ours yet to route the preview header",
                          group="preview", skipped=True) for front in preview.addresses(stage)]
    else:
        token = preview.read_token(config)
        results += [_color.check_through_varnish(config, front, color, release, token, deadline)
                    for front in preview.addresses(stage)]
    if config.checks.smoke:
        results.append(_color.check_smoke(config, stage, color, release))
    write_text(files.junit_path, junit.render(stage.name, color, release, results, now_iso()))
    failed = [c for c in results if not c.ok]
    passed = not failed
    plan.checks = [c.as_dict() for c in results]
    plan.verified = Verified(color, release, plan.target_vcl, now_iso()) if passed else None
    plan.verify_failed = None if passed else VerifyFailed(color, release, [c.name for c in failed])
    files.write_plan(plan)
    ctx.say(f"verify {color} {release}: {len(results) - len(failed)}/{len(results)} checks "
            f"passed in {timer.seconds:.1f} s")
    data = {"stage": stage.name, "color": color, "release": release, "passed": passed,
            "checks": plan.checks, "junit": str(files.junit_path)}
    if failed:
        first = failed[0]
        raise CheckFailed(f"verify {stage.name} {color} {release}: {len(failed)} of {len(results)} "
                          f"checks failed; first: {first.name}: {first.detail}; see "
                          f"{files.junit_path}; nothing live changed", data)
    return Result(color, data)


