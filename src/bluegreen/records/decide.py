"""Pure decisions: which color is live, which is passive, what the next state is."""

from __future__ import annotations

import os

from bluegreen.errors import Drift
from bluegreen.model import now_iso, other
from bluegreen.records.shape import SCHEMA
from bluegreen.varnish.names import color_of


def instance_colors(app: str, stage: str, actives: dict[str, str | None]) -> dict[str, str | None]:
    return {inst: color_of(app, stage, name) for inst, name in actives.items()}


def varnish_live(stage: str, colors: dict[str, str | None]) -> str | None:
    """The one color every instance serves, None if none serves ours; Drift if they disagree."""
    distinct = set(colors.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{inst} serves {c or 'a VCL not made by bluegreen'}"
                           for inst, c in colors.items())
        if None in distinct:  # some instances came back from a restart or reload with their own VCL
            advice = f"run 'reconcile --stage {stage}' to put the recorded live color back"
        else:  # blue here, green there: a switch that did not finish
            advice = (f"the stage is HALF SWITCHED: run 'switch --stage {stage}' again to finish "
                      f"this run's switch, or 'reconcile --stage {stage}' to put the recorded live "
                      "color back")
        raise Drift(f"stage {stage} is not served by one color: {detail}: {advice}")
    return distinct.pop() if distinct else None


def decide(stage: str, served: str | None, state: dict | None, source: str) -> tuple:
    """(live, passive). Varnish is the truth; a record that disagrees is drift, not a guess."""
    recorded = state.get("live") if state else None
    if state is not None and recorded != served:
        raise Drift(f"{served or 'no color of ours'} is live on Varnish but {source} says "
                    f"{recorded or 'nothing is live'}: {drift_advice(stage, served, recorded)}")
    return served, (other(served) if served else "blue")


def drift_advice(stage: str, served: str | None, recorded: str | None) -> str:
    """What to run when Varnish and the record disagree, by what each says."""
    if served is None and recorded:
        return (f"a restarted or reloaded Varnish serves its own VCL: run 'reconcile --stage {stage}' "
                f"to put {recorded} back (not 'adopt', which would record that nothing is live)")
    return (f"run 'status --stage {stage}' to see the drift, then 'adopt --stage {stage} --reason ...' "
            f"to record what Varnish serves, or 'reconcile --stage {stage}' to put {recorded} back")


def new_plan(app: str, stage: str, live, passive, actives: dict, state: dict | None) -> dict:
    return {
        "schema": SCHEMA, "id": os.urandom(6).hex(), "app": app, "stage": stage,
        "created": now_iso(), "live": live, "passive": passive, "expected": dict(actives),
        "previous_state": state, "release": None, "vcl": {}, "deploy": None,
        "verified": None, "switched": None,
    }


def initial_state(app: str, stage: str) -> dict:
    return {"schema": SCHEMA, "app": app, "stage": stage, "live": None, "previous": None,
            "colors": {}, "switch": None, "build": None, "history": []}


def after_switch(state: dict | None, app: str, stage: str, *, to: str, release: str | None,
                 vcls: dict, window_ms: float, instances: int, forced: bool, action: str,
                 build: dict | None, key: str, reason: str | None = None) -> dict:
    """The state once `to` went live. `key` makes recording the same switch twice a no-op."""
    base = dict(state) if state else initial_state(app, stage)
    history = list(base.get("history") or [])
    if any(h.get("key") == key for h in history):
        return base
    at = now_iso()
    was = base.get("live")
    colors = {c: dict(v) for c, v in (base.get("colors") or {}).items()}
    for color, name in vcls.items():
        colors.setdefault(color, {})["vcl"] = name
    if release is not None:
        colors.setdefault(to, {})["release"] = release
    colors.setdefault(to, {})["readiness"] = "live"
    if was and was != to:
        colors.setdefault(was, {})["readiness"] = "hot"
    history.append({"at": at, "action": action, "from": was, "to": to,
                    "release": colors.get(to, {}).get("release"),
                    "build": (build or {}).get("number"), "forced": forced, "key": key,
                    **({"reason": reason} if reason else {})})
    base.update(live=to, previous=was if was != to else base.get("previous"), colors=colors,
                switch={"at": at, "window_ms": round(window_ms, 3), "instances": instances,
                        "forced": forced},
                build=build, history=history[-50:])
    return base
