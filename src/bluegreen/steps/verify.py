"""verify --stage S: the passive color runs the release, healthy, directly and through Varnish."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bluegreen import checks, commands, junit, preview
from bluegreen.context import Result, Timer
from bluegreen.errors import CheckFailed, Refused
from bluegreen.junit import Check
from bluegreen.steps._common import guard_plan_holds
from bluegreen.store import now_iso, write_text


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    files = ctx.files(stage)
    plan = files.read_plan("verify")
    color, release = plan["passive"], plan.get("release")
    if not release:
        raise Refused(f"nothing was deployed in this plan: run 'deploy --stage {stage.name} "
                      "--version V' before 'verify'")
    timer = Timer()
    deadline = checks.Deadline(config.checks.wait_s)  # one deadline for the whole step
    results = _servers(ctx, config, stage, color, release, deadline)
    with ctx.fleet(stage) as fleet:
        guard_plan_holds(ctx, stage, plan, fleet.lives())
        results += _probes(ctx, config, fleet, plan["vcl"][color], color, stage, deadline)
    if plan["live"] is None:  # Varnish still serves a VCL of its own: it cannot route a preview
        results += [Check(f"varnish {front} preview {color}", True, "skipped: first release, "
                          "Varnish serves no VCL of ours yet to route the preview header",
                          group="preview", skipped=True) for front in preview.addresses(stage)]
    else:
        token = preview.read_token(config)
        results += [_through_varnish(config, front, color, release, token, deadline)
                    for front in preview.addresses(stage)]
    if config.checks.smoke:
        results.append(_smoke(config, stage, color, release))
    write_text(files.junit_path, junit.render(stage.name, color, release, results, now_iso()))
    failed = [c for c in results if not c.ok]
    passed = not failed
    plan["checks"] = [c.as_dict() for c in results]
    plan["verified"] = ({"color": color, "release": release, "vcl": plan["vcl"][color],
                         "at": now_iso()} if passed else None)
    plan["verify_failed"] = None if passed else {"color": color, "release": release,
                                                 "failed": [c.name for c in failed]}
    files.write_plan(plan)
    ctx.say(f"verify {color} {release}: {len(results) - len(failed)}/{len(results)} checks "
            f"passed in {timer.seconds:.1f} s")
    if failed:
        first = failed[0]
        raise CheckFailed(f"verify {stage.name} {color} {release}: {len(failed)} of {len(results)} "
                          f"checks failed; first: {first.name}: {first.detail}; see "
                          f"{files.junit_path}; nothing live changed")
    return Result(color, {"stage": stage.name, "color": color, "release": release, "passed": True,
                          "checks": plan["checks"], "junit": str(files.junit_path)})


def _servers(ctx, config, stage, color, release, deadline) -> list[Check]:
    servers = stage.color_servers(color)
    timeout = config.checks.timeout_s
    headers = checks.host_header(config)

    def one(server):
        health = deadline.poll(lambda: _health(server, config.checks.health_path, timeout, headers))
        version = deadline.poll(lambda: _version(server, config.checks.version_path, timeout,
                                                 release, headers))
        ctx.say(f"  {server}: health {'ok' if health[0] else 'FAILED'}, release "
                f"{'ok' if version[0] else 'FAILED'}")
        return [Check(f"{server} health", health[0], health[1], health[2]),
                Check(f"{server} release", version[0], version[1], version[2])]

    with ThreadPoolExecutor(max_workers=min(16, len(servers))) as pool:
        return [c for pair in pool.map(one, servers) for c in pair]


def _health(server, path, timeout, headers):
    answer = checks.get(server, path, timeout, headers)
    return answer.ok, f"GET {path}: expected 2xx, got {checks.describe(answer)}"


def _version(server, path, timeout, release, headers):
    answer = checks.get(server, path, timeout, headers)
    seen = checks.release_of(answer)
    return seen == release, (f"GET {path}: expected {release}, got "
                             f"{seen if seen is not None else checks.describe(answer)}")


def _probes(ctx, config, fleet, vcl_name, color, stage, deadline) -> list[Check]:
    from bluegreen.names import color_of

    ours = lambda name: color_of(config.app, stage.name, name)  # noqa: E731
    view = {}

    def attempt():
        view.update(fleet.probe_view(vcl_name, color, ours))
        sick = {i: {b: h for b, h in backends.items() if h != "healthy"} for i, backends in view.items()}
        sick = {i: b for i, b in sick.items() if b or not view[i]}
        return not sick, "; ".join(f"{i}: {b or 'no backends'}" for i, b in sick.items())

    passed, seen, took = deadline.poll(attempt)
    out = []
    for inst, backends in view.items():
        bad = {b: h for b, h in backends.items() if h != "healthy"}
        servers = {b.split(".", 1)[-1] for b in backends}
        vcls = {b.split(".", 1)[0] for b in backends}
        detail = (f"Varnish's probes see {len(servers)} {color} server(s) healthy in "
                  f"{len(vcls)} VCL(s) ({', '.join(sorted(vcls))})" if not bad
                  else f"Varnish's probes: expected {color} healthy, got {bad}")
        out.append(Check(f"varnish {inst} probe {color}", not bad and bool(backends), detail, took,
                         "varnish"))
    ctx.say(f"  varnish probes of {color}: {'healthy' if passed else 'NOT healthy: ' + seen}")
    return out


def _through_varnish(config, front, color, release, token, deadline) -> Check:
    """The release through one Varnish instance with the preview header, polled until the
    deadline: right after a deploy, Varnish may still hold down connects to a restarted server."""
    header = config.vcl.preview_header
    path = config.checks.version_path
    headers = preview.headers(config, color, token)

    def attempt():
        answer = checks.get(front, path, config.checks.timeout_s, headers)
        seen, served_by = checks.release_of(answer), answer.headers.get(header.lower())
        detail = (f"GET {path} via {front} with {header}: {color}: expected {release} from "
                  f"{color}, got {seen if seen is not None else checks.describe(answer)} from "
                  f"{served_by or 'unknown color'}")
        if served_by and served_by != color:
            detail += " (is this host in vcl.preview_from?)"
        elif not served_by:
            detail += (" (Varnish shows the color only to trusted preview clients: check "
                       "vcl.preview_from, the preview listener and the token)")
        return seen == release and served_by == color, detail

    ok, detail, took = deadline.poll(attempt)
    return Check(f"varnish {front} preview {color}", ok, detail, took, "preview")


def _smoke(config, stage, color, release) -> Check:
    server = stage.color_servers(color)[0]
    argv = commands.fill(config.checks.smoke, {"url": server.url, "color": color, "version": release})
    done = commands.run(argv, config.base_dir, config.deploy.timeout_s, config.deploy.pass_secrets)
    return Check("smoke", done.ok, f"{' '.join(argv)}: {done.describe()}", done.seconds, "smoke")
