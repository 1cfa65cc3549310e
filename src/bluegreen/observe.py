"""What is true right now of a stage: per instance what is live, per color what runs, whether a
rollback is ready. `status` prints it, the stage report shows it.

It asks through the step's own fleet (opened once per step); a Varnish that cannot be asked is
one of the facts (`varnish_error`), not a failure of the step.
"""

from __future__ import annotations

from bluegreen.checks import http
from bluegreen.errors import BluegreenError
from bluegreen.model import COLORS
from bluegreen.records.lifecycle import REDEPLOY, REFUSE, rollback_action
from bluegreen.records.state import State
from bluegreen.varnish import names


def observe(config, stage, state: State | None, fleet, unreachable: str | None = None) -> dict:
    """{instances, colors, rollback, readiness, varnish_error} (a JSON-ready dict). `fleet` is
    the step's open fleet, or None with why it could not be opened (`unreachable`)."""
    facts: dict = {"instances": {}, "colors": {}, "varnish_error": unreachable}
    loaded = {}
    if fleet is not None:
        try:
            loaded = _varnish(config, stage, fleet, facts["instances"])
        except BluegreenError as exc:
            facts["varnish_error"] = exc.message
    facts["colors"] = {color: [_server(config, server) for server in stage.color_servers(color)]
                       for color in COLORS}
    facts["rollback"] = rollback_ready(state, facts, loaded)
    facts["readiness"] = {c: state.readiness_of(c) if state else None for c in COLORS}
    return facts


def _varnish(config, stage, fleet, instances: dict) -> dict[str, set]:
    """Per instance what it serves (and whether that VCL is still what its name says); the
    names loaded on each instance."""
    listing = fleet.listing()
    lives = fleet.lives(listing)
    for admin in fleet.admins:
        inst, name = str(admin.address), lives[str(admin.address)]
        color = names.color_of(config.app, stage.name, name)
        instances[inst] = {
            "vcl": name, "color": color, "label": stage.label if config.label_mode else None,
            "source_ok": names.rendered(name, admin.vcl_show(name)) if color else None}
    return {i: {e.get("name") for e in entries} for i, entries in listing.items()}


def _server(config, server) -> dict:
    headers = http.host_header(config)
    version = http.get(server, config.checks.version_path, config.checks.timeout_s, headers)
    health = http.get(server, config.checks.health_path, config.checks.timeout_s, headers)
    return {"server": str(server), "release": http.release_of(version), "healthy": health.ok,
            "detail": http.describe(health)}


def rollback_ready(state: State | None, facts: dict, loaded: dict) -> dict:
    if not state or not state.previous:
        return {"ready": False, "why": "no previous color recorded"}
    prev = state.previous
    release, vcl = state.release_of(prev), state.vcl_of(prev)
    action = rollback_action(state)  # readiness: retired redeploys, contracted refuses
    if action.action in (REDEPLOY, REFUSE):
        return {"ready": False, "color": prev, "release": release, "why": action.why,
                "action": action.action}
    if state.last and state.last.action == "rollback":
        return {"ready": False, "color": prev, "release": release,
                "why": "the last action was a rollback; release again to go forward"}
    bad = [s["server"] for s in facts["colors"].get(prev, [])
           if s["release"] != release or not s["healthy"]]
    if bad:
        return {"ready": False, "color": prev, "release": release,
                "why": f"{', '.join(bad)} not healthy on {release}"}
    if not loaded:
        return {"ready": False, "color": prev, "release": release, "why": "Varnish could not be asked"}
    unloaded = [i for i, found in loaded.items() if vcl not in found]
    why = f"ready; VCL {vcl} is loaded again first on {', '.join(unloaded)}" if unloaded else "ready"
    return {"ready": True, "color": prev, "release": release, "why": why, "action": "switch"}
