"""What each color's readiness allows, after the switch. Pure: no I/O, no clock of its own.

    live        serves the stage
    hot         runs the previous release, stopped by nobody: rollback is one vcl.use
    retired     its servers are stopped (retire): rollback deploys its release onto it again,
                verifies it, then switches; it takes as long as a deploy
    contracted  the shared schema moved past its release (schema.contract): rollback refuses,
                the way forward is a new release

The readiness itself is recorded on the State (`State.readiness_of`); here is what follows
from it, and the facts `retire` works from.
"""

from __future__ import annotations

import calendar
import time
from typing import NamedTuple

from bluegreen.model import MOMENT
from bluegreen.records.state import State

SWITCH, REDEPLOY, REFUSE, NOTHING = "switch", "redeploy", "refuse", "nothing"


class RollbackAction(NamedTuple):
    """What `rollback` would do right now: switch, redeploy, refuse or nothing; `why` is a
    sentence for a person (the refusal itself for refuse)."""

    action: str
    color: str | None
    release: str | None
    why: str


def rollback_action(state: State | None, nothing_contracted: bool = False) -> RollbackAction:
    """What `rollback` would do right now, by the previous color's readiness. A contract that
    started and did not finish counts as contracted, unless `nothing_contracted` (schema.pending
    says the whole contract is still pending)."""
    previous = state.previous if state else None
    if not state or not state.live or not previous:
        return RollbackAction(NOTHING, None, None, "no previous color recorded: nothing to roll back to")
    release = state.release_of(previous)
    kind = state.readiness_of(previous)
    started = unfinished_contract(state)
    if started is not None and not nothing_contracted:
        why = (f"cannot roll back to {previous} {release}: a contract of the shared schema for "
               f"release {started.release} started at {started.at or 'an unrecorded time'} and did "
               f"not finish, so part of it may have run and {release} may not run on it; roll "
               f"forward instead (or finish it: 'retire --stage {state.stage}' runs it again)")
        return RollbackAction(REFUSE, previous, release, why)
    if kind == "contracted":
        done = state.migration("contract")
        why = (f"cannot roll back to {previous} {release}: the shared schema was contracted for "
               f"release {done.release if done else '?'} at "
               f"{(done.at if done else None) or 'an unrecorded time'}, "
               f"and {release} cannot run on it; roll forward instead: release a fix as a new "
               "version")
        return RollbackAction(REFUSE, previous, release, why)
    if kind == "retired":
        why = (f"{previous} is retired (its servers were stopped): rollback first deploys {release} "
               f"onto {previous} again with the deploy command and verifies it, then switches; "
               "this takes as long as a deploy, not one vcl.use")
        return RollbackAction(REDEPLOY, previous, release, why)
    return RollbackAction(SWITCH, previous, release, f"{previous} runs {release}: rollback is one vcl.use")


def unfinished_contract(state: State):
    """The contract for the live release that was recorded as started and never finished."""
    found = state.migration("contract", state.release_of(state.live))
    return found if found is not None and not found.finished else None


def parse_at(at: str | None) -> float | None:
    """Seconds since the epoch of a recorded time like 2026-11-29T10:00:00.123Z; None if unreadable."""
    if not isinstance(at, str) or not MOMENT.fullmatch(at):
        return None
    try:
        seconds = calendar.timegm(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    fraction = at[19:].rstrip("Z")
    return seconds + (float(fraction) if fraction.startswith(".") and fraction[1:].isdigit() else 0.0)


def window_left(state: State, after_s: float, now: float) -> float | None:
    """Seconds left in the rollback window (<= 0: over); None when no switch time is recorded."""
    switched = parse_at(state.switch.at if state.switch else None)
    if switched is None:
        return None
    return switched + after_s - now


def stray_instances(state: State, actives: dict[str, str | None]) -> dict[str, str | None]:
    """Instances whose live VCL is not the recorded live color's: they could still route to the
    previous color other than through preview."""
    live_vcl = state.vcl_of(state.live)
    return {inst: name for inst, name in actives.items() if name != live_vcl or live_vcl is None}
