"""status [--stage S]: per instance what is live, the record, releases, drift, rollback readiness."""

from bluegreen import __version__
from bluegreen.context import Result
from bluegreen.errors import BluegreenError
from bluegreen.model import show
from bluegreen.observe import observe
from bluegreen.records.decide import drift_advice
from bluegreen.records.state import State
from bluegreen.varnish import stats

PENDING_TIMEOUT_S = 30  # status is an incident tool: schema.pending gets this long at most


def run(ctx, args) -> Result:
    config = ctx.config
    names = [config.stage(args.stage).name] if args.stage else list(config.stages)
    stages, lines, trouble, unreachable = {}, [], False, False
    for name in names:
        stage = config.stages[name]
        info = _one(ctx, config, stage)
        stages[name] = info
        trouble |= bool(info["problems"])
        unreachable |= info.pop("unreachable")
        lines += _lines(name, info)
    code = 3 if unreachable else 1 if trouble else 0  # 3: a Varnish or the record could not be read
    return Result("\n".join(lines), {"version": __version__, "stages": stages, "ok": not trouble}, code)


def _one(ctx, config, stage) -> dict:
    files = ctx.files(stage)
    problems, unreadable = [], False
    try:
        store = ctx.store()
        state = store.load(files, config.app)
    except BluegreenError as exc:  # the record could not be read: a dependency failed (exit 3)
        state, problems, unreadable = None, [exc.message], True
    fleet, unreachable = _open_fleet(ctx, stage)
    try:
        facts = observe(config, stage, state, fleet, unreachable)
    finally:
        if fleet is not None:
            fleet.close()
    if facts["varnish_error"]:
        problems.append(facts["varnish_error"])
    problems += _problems(stage.name, facts, state)
    recorded = state.live if state else None
    schema = _schema(ctx, state)
    if schema.get("error") or "expand" in schema.get("pending", ()):
        problems.append(schema.get("error") or f"schema.pending says the expand of the live release "
                        f"{schema['release']} is pending in the shared database (a restored "
                        f"database?): run its expand (schema.expand) before anything else")
        unreadable |= bool(schema.get("error"))
    if config.status:  # per-color counters of the live VCL, from varnishstat
        lives = {i: v["vcl"] for i, v in facts["instances"].items() if v["color"]}
        for inst, found in stats.read(config.status, stage, lives, config.base_dir).items():
            facts["instances"][inst]["counters"] = found
    return {"unreachable": bool(facts["varnish_error"]) or unreadable, "recorded_live": recorded,
            "instances": facts["instances"], "colors": facts["colors"],
            "rollback": facts["rollback"], "readiness": facts["readiness"], "schema": schema,
            "problems": problems}


def _open_fleet(ctx, stage):
    """(the stage's open fleet, None) or (None, why it could not be opened): status still says
    what the record and the servers say when Varnish cannot be asked."""
    try:
        return ctx.fleet(stage).open(), None
    except BluegreenError as exc:
        return None, exc.message


def _schema(ctx, state: State | None) -> dict:
    """What schema.pending says of the recorded live release ({} when it is not configured)."""
    release = state.release_of(state.live) if state else None
    schema = ctx.config.schema
    if not release or schema is None or not schema.pending:
        return {}
    from bluegreen.schema import migrations

    try:
        found = migrations.pending(ctx, release, min(schema.timeout_s, PENDING_TIMEOUT_S))
        return {"release": release, "pending": sorted(found)}
    except BluegreenError as exc:
        return {"release": release, "error": exc.message}


def _problems(stage: str, facts: dict, state: State | None) -> list[str]:
    """Where Varnish, the servers and the record disagree, each with what to run."""
    instances = facts["instances"]
    served = {v["color"] for v in instances.values()}
    recorded = state.live if state else None
    if not instances:
        return []
    if len(served) > 1:
        detail = ", ".join(f"{i} {v['color'] or 'not ours'}" for i, v in instances.items())
        if None in served:
            return [f"instances serve different colors: {detail}: a restarted or reloaded Varnish "
                    f"serves its own VCL: run 'reconcile --stage {stage}'"]
        return [f"instances serve different colors: {detail}: the stage is HALF SWITCHED: run "
                f"'switch --stage {stage}' again to finish it, or 'reconcile --stage {stage}' to "
                "put the recorded color back"]
    now = served.pop()
    if state is None:
        return []
    if now != recorded:
        return [f"drift: Varnish serves {now or 'no color of ours'}, the record says "
                f"{recorded or 'nothing'}: {drift_advice(stage, now, recorded)}"]
    out = [f"{i} serves {v['vcl']}, whose source is not what bluegreen rendered under that name (it "
           f"was changed by hand?): run 'reconcile --stage {stage}' after discarding it, or release again"
           for i, v in instances.items() if v.get("source_ok") is False]
    info = state.color(recorded)
    other = {i: v["vcl"] for i, v in instances.items() if recorded and info.vcl
             and v["vcl"] != info.vcl}
    if other:
        out.append(f"{recorded} is live, but not the recorded VCL {info.vcl}: "
                   + ", ".join(f"{i} serves {v}" for i, v in other.items())
                   + f": another run switched; run 'adopt --stage {stage} --reason ...' if it is right")
    answers = {s["server"]: s["release"] for s in facts["colors"].get(recorded or "", [])}
    wrong = {srv: rel for srv, rel in answers.items() if info.release and rel != info.release}
    if wrong:
        out.append(f"live {recorded} servers answer another release than the recorded "
                   f"{info.release}: " + ", ".join(f"{s} answers {r or 'nothing'}"
                                                      for s, r in wrong.items()))
    return out


def _lines(name: str, info: dict) -> list[str]:
    out = [f"stage {name}: recorded live {info['recorded_live'] or '-'}"]
    for inst, v in info["instances"].items():
        via = f" (label {v['label']})" if v.get("label") else ""
        out.append(f"  varnish {inst:<22} serves {v['color'] or 'not ours':<9} "
                   f"{v['vcl'] or ('label missing' if v.get('label') else '-')}{via}")
        if "counters" in v:
            out.append(f"    counters: {stats.describe(v['counters'])}")
    for color, servers in info["colors"].items():
        for s in servers:
            health = "healthy" if s["healthy"] else s["detail"]
            out.append(f"  {color:<6} {s['server']:<22} {s['release'] or '-':<12} {health}")
    schema = info["schema"]
    if "pending" in schema:
        out.append(f"  schema: {' and '.join(schema['pending']) or 'nothing'} pending for "
                   f"{schema['release']}" + (" (retire runs it)" if schema["pending"] == ["contract"]
                                             else ""))
    out.append("  readiness: " + ", ".join(f"{c} {r or '-'}" for c, r in info["readiness"].items()))
    rb = info["rollback"]
    ready = f"ready to {rb['color']} {rb['release']}" if rb["ready"] else f"not ready ({rb['why']})"
    if rb.get("action") == "redeploy":
        ready = f"by redeploy to {rb['color']} {rb['release']} ({rb['why']})"
    out.append(f"  rollback: {ready}")
    out += [f"  PROBLEM: {p}" for p in info["problems"]]
    return [show(line, len(line) * 10) for line in out]  # what servers and commands said, escaped
