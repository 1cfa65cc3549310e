"""Keeping a stage's Varnish instances tidy after a move: only the live VCL and the rollback
target stay warm (every warm VCL probes every backend), and our VCLs beyond `vcl.keep` per
color are discarded. Each asks every instance at once, through the step's fleet."""

from __future__ import annotations

from bluegreen.model import COLORS
from bluegreen.varnish.admin import named


def cool(fleet, ours, warm: set[str]) -> list[str]:
    """Let our VCLs other than `warm` cool down: state auto (Varnish cools an `auto` VCL after
    vcl_cooldown). Seven kept warm VCLs were seven probes a second per backend per instance."""
    listing = fleet.listing()
    commands: dict = {}
    done = []
    for admin in fleet.admins:
        for entry in listing[str(admin.address)]:
            name = entry["name"]
            if ours(name) and name not in warm and entry.get("state") == "warm" \
                    and entry.get("status") == "available" and not entry.get("labels"):
                commands.setdefault(admin, []).append(f"vcl.state {named(name)} auto")
                done.append(f"cooling {name} on {admin.address}")
    fleet.ask(commands)
    return done


def housekeep(fleet, ours, keep: int, protect: set[str]) -> list[str]:
    """Discard our VCLs beyond `keep` per color (oldest first), never protected or labelled ones.

    `ours(name)` gives the color of a VCL this tool made and may discard, None for anything
    else (a VCL another tool or another app made is never touched)."""
    listing = fleet.listing()
    commands: dict = {}
    gone = []
    for admin in fleet.admins:
        entries = listing[str(admin.address)]
        targets = {(e.get("label") or {}).get("name") for e in entries if e.get("state") == "label"}
        for color in COLORS:
            mine = [e for e in entries if ours(e["name"]) == color]
            for entry in mine[:-keep] if len(mine) > keep else []:
                name = entry["name"]
                if entry.get("status") == "active" or name in protect or name in targets \
                        or entry.get("labels"):
                    continue
                commands.setdefault(admin, []).append(f"vcl.discard {named(name)}")
                gone.append(f"discarded {name} on {admin.address}")
    fleet.ask(commands)
    return gone
