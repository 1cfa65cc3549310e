"""What is true right now: per instance what is live, per color what runs, rollback readiness."""

from __future__ import annotations

from bluegreen.checks import http
from bluegreen.errors import BluegreenError
from bluegreen.model import COLORS
from bluegreen.records.lifecycle import REDEPLOY, REFUSE, readiness, rollback_action
from bluegreen.varnish import names
from bluegreen.varnish.names import color_of


def observe(ctx, stage, state: dict | None) -> dict:
    config = ctx.config
    facts = {"instances": {}, "colors": {}, "varnish_error": None}
    loaded = {}
    try:
        with ctx.fleet(stage) as fleet:
            lives = fleet.lives()
            for admin in fleet.admins:
                inst, name = str(admin.address), lives[str(admin.address)]
                color = color_of(config.app, stage.name, name)
                facts["instances"][inst] = {
                    "vcl": name, "color": color, "label": stage.label if config.label_mode else None,
                    "source_ok": names.rendered(name, admin.vcl_show(name)) if color else None}
            loaded = {i: {e.get("name") for e in entries} for i, entries in fleet.listing().items()}
    except BluegreenError as exc:
        facts["varnish_error"] = exc.message
    headers = http.host_header(config)
    for color in COLORS:
        servers = []
        for server in stage.color_servers(color):
            version = http.get(server, config.checks.version_path, config.checks.timeout_s, headers)
            health = http.get(server, config.checks.health_path, config.checks.timeout_s, headers)
            servers.append({"server": str(server), "release": http.release_of(version),
                            "healthy": health.ok, "detail": http.describe(health)})
        facts["colors"][color] = servers
    facts["rollback"] = rollback_ready(state, facts, loaded)
    facts["readiness"] = {c: readiness(state, c) for c in COLORS}
    return facts


def rollback_ready(state: dict | None, facts: dict, loaded: dict) -> dict:
    if not state or not state.get("previous"):
        return {"ready": False, "why": "no previous color recorded"}
    prev = state["previous"]
    info = (state.get("colors") or {}).get(prev, {})
    action = rollback_action(state)  # readiness: retired redeploys, contracted refuses
    if action["action"] in (REDEPLOY, REFUSE):
        return {"ready": False, "color": prev, "release": info.get("release"),
                "why": action["why"], "action": action["action"]}
    history = state.get("history") or []
    if history and history[-1].get("action") == "rollback":
        return {"ready": False, "color": prev, "release": info.get("release"),
                "why": "the last action was a rollback; release again to go forward"}
    bad = [s["server"] for s in facts["colors"].get(prev, [])
           if s["release"] != info.get("release") or not s["healthy"]]
    if bad:
        return {"ready": False, "color": prev, "release": info.get("release"),
                "why": f"{', '.join(bad)} not healthy on {info.get('release')}"}
    if not loaded:
        return {"ready": False, "color": prev, "release": info.get("release"),
                "why": "Varnish could not be asked"}
    unloaded = [i for i, names in loaded.items() if info.get("vcl") not in names]
    why = f"ready; VCL {info.get('vcl')} is loaded again first on {', '.join(unloaded)}" if unloaded \
        else "ready"
    return {"ready": True, "color": prev, "release": info.get("release"), "why": why,
            "action": "switch"}
