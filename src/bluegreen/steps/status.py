"""status [--stage S]: per instance what is live, the record, releases, drift, rollback readiness."""

from bluegreen import __version__
from bluegreen.context import Result
from bluegreen.errors import BluegreenError
from bluegreen.readiness import observe


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
    code = 3 if unreachable else 1 if trouble else 0  # 3: a Varnish could not be asked
    return Result("\n".join(lines), {"version": __version__, "stages": stages, "ok": not trouble}, code)


def _one(ctx, config, stage) -> dict:
    files = ctx.files(stage)
    problems = []
    try:
        store = ctx.store()
        state = store.load(files, config.app)
    except BluegreenError as exc:
        state, problems = None, [exc.message]
    facts = observe(ctx, stage, state)
    if facts["varnish_error"]:
        problems.append(facts["varnish_error"])
    served = {i["color"] for i in facts["instances"].values()}
    recorded = state.get("live") if state else None
    if len(served) > 1:
        problems.append("instances serve different colors: " + ", ".join(
            f"{i} {v['color'] or 'not ours'}" for i, v in facts["instances"].items()))
    elif served and state is not None and served != {recorded}:
        problems.append(f"drift: Varnish serves {served.pop() or 'no color of ours'}, the record "
                        f"says {recorded or 'nothing'}")
    return {"unreachable": bool(facts["varnish_error"]), "recorded_live": recorded,
            "instances": facts["instances"], "colors": facts["colors"],
            "rollback": facts["rollback"], "readiness": facts["readiness"], "problems": problems}


def _lines(name: str, info: dict) -> list[str]:
    out = [f"stage {name}: recorded live {info['recorded_live'] or '-'}"]
    for inst, v in info["instances"].items():
        out.append(f"  varnish {inst:<22} serves {v['color'] or 'not ours':<9} {v['vcl']}")
    for color, servers in info["colors"].items():
        for s in servers:
            health = "healthy" if s["healthy"] else s["detail"]
            out.append(f"  {color:<6} {s['server']:<22} {s['release'] or '-':<12} {health}")
    out.append("  readiness: " + ", ".join(f"{c} {r or '-'}" for c, r in info["readiness"].items()))
    rb = info["rollback"]
    ready = f"ready to {rb['color']} {rb['release']}" if rb["ready"] else f"not ready ({rb['why']})"
    if rb.get("action") == "redeploy":
        ready = f"by redeploy to {rb['color']} {rb['release']} ({rb['why']})"
    out.append(f"  rollback: {ready}")
    out += [f"  PROBLEM: {p}" for p in info["problems"]]
    return out
