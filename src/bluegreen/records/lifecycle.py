"""What each color's readiness allows, after the switch. Pure: no I/O, no clock of its own.

    live        serves the stage
    hot         runs the previous release, stopped by nobody: rollback is one vcl.use
    retired     its servers are stopped (retire): rollback deploys its release onto it again,
                verifies it, then switches; it takes as long as a deploy
    contracted  the shared schema moved past its release (schema.contract): rollback refuses,
                the way forward is a new release

The state transitions that `retire` makes are here too, each one idempotent, so that a rerun
after a kill converges on the same record.
"""

from __future__ import annotations

from bluegreen.model import parse_at

SWITCH, REDEPLOY, REFUSE, NOTHING = "switch", "redeploy", "refuse", "nothing"


def readiness(state: dict | None, color: str | None) -> str | None:
    """The recorded readiness of a color; a previous color recorded before readiness was is hot."""
    if not state or not color:
        return None
    info = (state.get("colors") or {}).get(color) or {}
    if info.get("readiness"):
        return info["readiness"]
    return "live" if color == state.get("live") else "hot" if color == state.get("previous") else None


def contraction(state: dict | None, release: str | None = None) -> dict | None:
    """The newest contract migration recorded (for `release`, when given)."""
    found = [m for m in (state or {}).get("migrations") or [] if m.get("phase") == "contract"
             and (release is None or m.get("release") == release)]
    return found[-1] if found else None


def has_migration(state: dict | None, phase: str, release: str) -> bool:
    return any(m.get("phase") == phase and m.get("release") == release
               for m in (state or {}).get("migrations") or [])


def rollback_action(state: dict | None) -> dict:
    """What `rollback` would do right now, by the previous color's readiness.

    {"action": switch|redeploy|refuse|nothing, "color", "release", "why"}; `why` is a sentence for
    a person (the refusal itself for refuse).
    """
    previous = (state or {}).get("previous")
    if not state or not state.get("live") or not previous:
        return {"action": NOTHING, "color": None, "release": None,
                "why": "no previous color recorded: nothing to roll back to"}
    release = ((state.get("colors") or {}).get(previous) or {}).get("release")
    kind = readiness(state, previous)
    if kind == "contracted":
        done = contraction(state) or {}
        why = (f"cannot roll back to {previous} {release}: the shared schema was contracted for "
               f"release {done.get('release', '?')} at {done.get('at') or 'an unrecorded time'}, "
               f"and {release} cannot run on it; roll forward instead: release a fix as a new "
               "version")
        return {"action": REFUSE, "color": previous, "release": release, "why": why}
    if kind == "retired":
        why = (f"{previous} is retired (its servers were stopped): rollback first deploys {release} "
               f"onto {previous} again with the deploy command and verifies it, then switches; "
               "this takes as long as a deploy, not one vcl.use")
        return {"action": REDEPLOY, "color": previous, "release": release, "why": why}
    return {"action": SWITCH, "color": previous, "release": release,
            "why": f"{previous} runs {release}: rollback is one vcl.use"}


# -- retire ----------------------------------------------------------------------------------------

def window_left(state: dict, after_s: float, now: float) -> float | None:
    """Seconds left in the rollback window (<= 0: over); None when no switch time is recorded."""
    switched = parse_at((state.get("switch") or {}).get("at"))
    if switched is None:
        return None
    return switched + after_s - now


def stray_instances(state: dict, actives: dict[str, str | None]) -> dict[str, str | None]:
    """Instances whose live VCL is not the recorded live color's: they could still route to the
    previous color other than through preview."""
    live_vcl = ((state.get("colors") or {}).get(state.get("live") or "") or {}).get("vcl")
    return {inst: name for inst, name in actives.items() if name != live_vcl or live_vcl is None}


def with_readiness(state: dict, color: str, value: str) -> dict:
    colors = {c: dict(v) for c, v in (state.get("colors") or {}).items()}
    colors.setdefault(color, {})["readiness"] = value
    return {**state, "colors": colors}


def with_migration(state: dict, phase: str, release: str, at: str, **extra) -> dict:
    """The state with this migration recorded once (a second record of it is a no-op)."""
    if has_migration(state, phase, release):
        return state
    entry = {"phase": phase, "release": release, "at": at, **extra}
    return {**state, "migrations": [*(state.get("migrations") or []), entry][-100:]}


def with_expand_of(state: dict, plan: dict) -> dict:
    """The state after the plan's switch, with the plan's expand in `migrations` (once)."""
    done = (plan.get("migration") or {}).get("expand") or {}
    if not done.get("ok") or done.get("release") != plan.get("release"):
        return state
    return with_migration(state, "expand", done["release"], done.get("at"))


def with_history(state: dict, action: str, color: str, release: str | None, at: str,
                 build: dict | None, **extra) -> dict:
    entry = {"at": at, "action": action, "from": color, "to": None, "release": release,
             "build": (build or {}).get("number"), **extra}
    return {**state, "history": [*(state.get("history") or []), entry][-50:]}
