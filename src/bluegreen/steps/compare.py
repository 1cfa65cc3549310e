"""compare --stage S [--expected FILE]: only the expected changes, before the switch.

Replays compare.requests through every Varnish front (live, passive, live again; bypassing the
cache), and fails on a difference that is neither noise nor declared, on a declared change that
did not appear, and on a passive 5xx where live answered below 500. Decisions: diff.py.
"""

from __future__ import annotations

from pathlib import Path

from bluegreen.checks import junit, preview
from bluegreen.checks.junit import Check
from bluegreen.compare import diff
from bluegreen.compare.replay import Replay
from bluegreen.compare.requests import parse_expected, parse_ignore, parse_requests, read_text
from bluegreen.context import Result, Timer
from bluegreen.errors import CheckFailed, ConfigError, Refused
from bluegreen.model import now_iso
from bluegreen.records.files import write_text
from bluegreen.records.plan import Compared, Plan
from bluegreen.steps._common import guard_plan_holds

NOT_CONFIGURED = "compare: not configured ([compare] absent), skipped"


def run(ctx, args) -> Result:
    config, settings = ctx.config, ctx.config.compare
    stage = config.stage(args.stage)
    if settings is None:  # the answer on stdout says so; no progress line beside it
        return Result(NOT_CONFIGURED, {"stage": stage.name, "skipped": True, "passed": None,
                                       "why": "[compare] absent"})
    files = ctx.files(stage)
    plan = files.read_plan("compare")
    live, color, release = plan.live, plan.passive, plan.release
    if not release:
        raise Refused(f"nothing was deployed in this plan: run 'deploy --stage {stage.name} "
                      "--version V' and 'verify' before 'compare'")
    if live is None:
        why = "first release: nothing is live to compare with"
        return Result(f"compare: {why}, skipped", {"stage": stage.name, "skipped": True,
                                                   "passed": None, "why": why})
    requests, changes = _inputs(ctx, settings, getattr(args, "expected", None))
    fronts = preview.addresses(stage)
    if not fronts:
        raise ConfigError(f"stages.{stage.name}.front: compare needs the HTTP address of every "
                          "Varnish instance, e.g. front = [\"127.0.0.1:6081\"]")
    with ctx.fleet(stage) as fleet:
        guard_plan_holds(ctx, stage, plan, fleet.lives())
    ctx.say(f"compare {stage.name}: {len(requests.send)} request(s) through {len(fronts)} Varnish "
            f"front(s): live {live} twice, {color} {release} once")
    timer = Timer()
    token = preview.read_token(config)
    replay = Replay(fronts, lambda c: preview.headers(config, c, token), config.vcl.preview_header,
                    settings.timeout_s, settings.concurrency)
    answers = replay.run(requests.send, live, color)
    headers = (*diff.DEFAULT_HEADERS, *(h.lower() for h in settings.headers))
    ignore = parse_ignore(settings.ignore)
    outcomes = [diff.compare(r, answers[r], changes, headers, ignore) for r in requests.send]
    verdict = diff.verdict(outcomes, changes, len(requests.skipped))
    return _finish(ctx, stage, files, plan, verdict, requests.skipped, timer.seconds)


def _inputs(ctx, settings, flag: str | None):
    """The requests to send and the declared changes, each file read and checked whole."""
    requests = parse_requests(read_text(settings.requests, "compare.requests"), str(settings.requests),
                              settings.allow_unsafe, ctx.config.vcl.preview_header)
    if requests.skipped:
        shown = ", ".join(r.label for r in requests.skipped[:3])
        more = ", ..." if len(requests.skipped) > 3 else ""
        ctx.say(f"compare: skipped {len(requests.skipped)} request(s) with unsafe methods ({shown}"
                f"{more}); set compare.allow_unsafe = true to send them")
    path = Path(flag) if flag else settings.expected
    if path is None:
        return requests, []
    return requests, parse_expected(read_text(path, "--expected" if flag else "compare.expected"),
                                    str(path))


def _finish(ctx, stage, files, plan: Plan, verdict, skipped, seconds) -> Result:
    color, release, live = plan.passive, plan.release, plan.live
    summary = verdict.summary()
    record = Compared(color, release, plan.target_vcl, now_iso(),
                      {"live": live, "live_release": plan.live_release, "seconds": round(seconds, 3),
                       "missing": [str(c) for c in verdict.missing], **summary})
    plan.compared = record if verdict.passed else None
    plan.compare_failed = None if verdict.passed else record
    path = files.dir / "junit-compare.xml"
    write_text(path, junit.render(stage.name, color, release, _cases(stage, verdict, skipped),
                                  now_iso(), step="compare"))
    files.write_plan(plan)
    counts = summary["counts"]
    line = (f"compare {stage.name} {live} -> {color} {release}: {counts['passed']}/"
            f"{counts['requests']} requests as expected, {counts['unexpected']} unexpected "
            f"difference(s), {counts['broken']} broken, {counts['expected_missing']} expected "
            f"change(s) not seen, {counts['skipped_unsafe']} skipped, in {seconds:.1f} s")
    ctx.say(line)
    data = {"stage": stage.name, "live": live, "color": color, "release": release,
            "passed": verdict.passed, **record.to_json(), "junit": str(path),
            "requests": [o.as_dict() for o in verdict.outcomes],
            "skipped": [str(r) for r in skipped]}
    if not verdict.passed:
        raise CheckFailed(_error(stage.name, color, release, verdict, path), data, line)
    return Result(line, data)


def _error(stage, color, release, verdict, path) -> str:
    failures = verdict.summary(limit=3)["failures"]
    parts = [f"{f['request']} {f['field']}: live {f['live']!r}, {color} {f['passive']!r}"
             if f["why"] == "unexpected" else f"{f['request']}: {f['why']}" for f in failures]
    parts += [f"expected change not seen: {c}" for c in verdict.missing[:3]]
    return (f"compare {stage} {color} {release} failed: {'; '.join(parts)}; see {path}; declare "
            "intended changes in the expected file; nothing live changed")


def _cases(stage, verdict, skipped) -> list[Check]:
    cases = []
    for o in verdict.outcomes:
        if o.ok:
            detail = (f"{len(o.differences)} expected change(s), {len(o.noise)} noisy field(s) "
                      "left out" if o.differences or o.noise else "the same on both colors")
        else:
            detail = o.broken or o.live_failed or "; ".join(
                f"{d.field}: live {diff.shorten(d.live, 60)!r}, passive {diff.shorten(d.passive, 60)!r}"
                for d in o.unexpected[:10])
        cases.append(Check(_name(o.request), o.ok, detail, group="compare"))
    cases += [Check(f"expected change {c}", c not in verdict.missing,
                    ("seen on " + ", ".join(verdict.seen[c][:5])) if c not in verdict.missing
                    else "declared but seen on none of its paths", group="expected")
              for c in verdict.changes]
    cases += [Check(_name(r), True, "skipped: unsafe method (compare.allow_unsafe is false)",
                    group="compare", skipped=True) for r in skipped]
    return cases


def _name(request) -> str:
    return request.label  # never a header's value: it may be a credential
