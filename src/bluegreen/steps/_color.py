"""A release on one color: what deploy, verify and rollback's redeploy of a retired color share.

`deploy_servers` runs the deploy command on every server of the color that does not run the
release yet; the `check_*` functions look at the color as verify does: each server directly, the
same through every Varnish with the preview header, Varnish's own probes, the smoke command.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bluegreen import commands
from bluegreen.checks import http, preview
from bluegreen.checks.junit import Check
from bluegreen.context import Timer


def deploy_servers(ctx, config, stage, color, release):
    servers = stage.color_servers(color)
    timer = Timer()
    skipped, jobs = [], []
    for server in servers:
        answer = http.get(server, config.checks.version_path, config.checks.timeout_s,
                            http.host_header(config))
        if http.release_of(answer) == release:
            skipped.append(commands.Outcome(server, True, f"skipped (already on {release})"))
        else:
            values = {"host": server.host, "port": str(server.port), "version": release, "color": color}
            jobs.append((server, commands.fill(config.deploy.command, values)))
    total = len(servers)
    counter = [len(skipped)]

    def progress(outcome):
        counter[0] += 1
        state = "done" if outcome.ok else f"FAILED ({outcome.detail})"
        ctx.say(f"  [{counter[0]}/{total}] {outcome.server} {state} in {outcome.seconds:.1f} s")

    outcomes = commands.per_server(jobs, config.base_dir, config.deploy.parallel,
                                config.deploy.timeout_s, progress, config.deploy.pass_secrets)
    ok = sum(1 for o in outcomes if o.ok) + len(skipped)
    extra = f", {len(skipped)} skipped (already on {release})" if skipped else ""
    ctx.say(f"deploy {color} {release}: {ok}/{total} servers done in {timer.seconds:.1f} s{extra}")
    return skipped + outcomes

def check_servers(ctx, config, stage, color, release, deadline) -> list[Check]:
    servers = stage.color_servers(color)
    timeout = config.checks.timeout_s
    headers = http.host_header(config)

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
    answer = http.get(server, path, timeout, headers)
    return answer.ok, f"GET {path}: expected 2xx, got {http.describe(answer)}"

def _version(server, path, timeout, release, headers):
    answer = http.get(server, path, timeout, headers)
    seen = http.release_of(answer)
    return seen == release, (f"GET {path}: expected {release}, got "
                             f"{seen if seen is not None else http.describe(answer)}")

def check_probes(ctx, config, fleet, vcl_name, color, stage, deadline) -> list[Check]:
    from bluegreen.varnish.names import color_of

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

def check_through_varnish(config, front, color, release, token, deadline) -> Check:
    """The release through one Varnish instance with the preview header, polled until the
    deadline: right after a deploy, Varnish may still hold down connects to a restarted server."""
    header = config.vcl.preview_header
    path = config.checks.version_path
    headers = preview.headers(config, color, token)

    def attempt():
        answer = http.get(front, path, config.checks.timeout_s, headers)
        seen, served_by = http.release_of(answer), answer.headers.get(header.lower())
        detail = (f"GET {path} via {front} with {header}: {color}: expected {release} from "
                  f"{color}, got {seen if seen is not None else http.describe(answer)} from "
                  f"{served_by or 'unknown color'}")
        if served_by and served_by != color:
            detail += " (is this host in vcl.preview_from?)"
        elif not served_by:
            detail += (" (Varnish shows the color only to trusted preview clients: check "
                       "vcl.preview_from, the preview listener and the token)")
        return seen == release and served_by == color, detail

    ok, detail, took = deadline.poll(attempt)
    return Check(f"varnish {front} preview {color}", ok, detail, took, "preview")

def check_smoke(config, stage, color, release) -> Check:
    server = stage.color_servers(color)[0]
    argv = commands.fill(config.checks.smoke, {"url": server.url, "color": color, "version": release})
    done = commands.run(argv, config.base_dir, config.deploy.timeout_s, config.deploy.pass_secrets)
    return Check("smoke", done.ok, f"{' '.join(argv)}: {done.describe()}", done.seconds, "smoke")
