"""Pure decisions: which color Varnish serves, which is live and which passive, what to run
when Varnish and the record disagree."""

from __future__ import annotations

from bluegreen.errors import Drift
from bluegreen.model import other
from bluegreen.records.state import State
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


def decide(stage: str, served: str | None, state: State | None, source: str) -> tuple:
    """(live, passive). Varnish is the truth; a record that disagrees is drift, not a guess."""
    recorded = state.live if state else None
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
