"""Per-color numbers for `status`: each instance's backend counters, read with varnishstat.

Varnish's admin port has no counters, so `status` runs `[status] stat_command` for each instance
(`varnishstat -1 -j -n NAME -f 'VBE.<vcl>.*'` by default, or the same through ssh) and, in the
VCL that instance serves, sums the counters of each color's backends (named
`<color>_<host>_<port>`): `req`, the requests Varnish sent to that color's servers, and what
failed: connections that could not be opened (its health probes' included) and fetches not
attempted (a backend sick or at max_connections). They count from when that VCL was loaded.
Errors the servers answer (5xx) are not counters: `watch` and varnishncsa count those.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from bluegreen import commands
from bluegreen.errors import ConfigError
from bluegreen.model import COLORS, show

NOT_MADE = ("unhealthy", "busy", "helddown")  # fetches Varnish did not attempt
PER_INSTANCE = ("{name}", "{host}", "{port}", "{instance}")


def per_color(text: str, vcl: str) -> dict[str, dict[str, int]]:
    """{color: {"requests", "failed", "backends"}} from varnishstat -j's output, for one VCL.

    Reads both layouts: {"counters": {...}} (Varnish 7) and the flat document of Varnish 6.
    Raises ValueError on output that is not varnishstat's JSON (RecursionError when nested too
    deep to read)."""
    doc = json.loads(text)
    counters = doc.get("counters", doc) if isinstance(doc, dict) else None
    if not isinstance(counters, dict):
        raise ValueError("not varnishstat's JSON")
    fields: dict[str, dict[str, int]] = {}
    prefix = f"VBE.{vcl}."
    for key, entry in counters.items():
        backend, _, field = key[len(prefix):].rpartition(".")
        color = backend.partition("_")[0]
        if key.startswith(prefix) and color in COLORS and isinstance(entry, dict):
            fields.setdefault(backend, {})[field] = _value(entry.get("value"))
    out = {c: {"requests": 0, "failed": 0, "backends": 0} for c in COLORS}
    for backend, values in fields.items():
        sums = out[backend.partition("_")[0]]
        sums["backends"] += 1
        sums["requests"] += values.get("req", 0)
        sums["failed"] += _failed_connections(values) + sum(values.get(f, 0) for f in NOT_MADE)
    return out


def _failed_connections(values: dict[str, int]) -> int:
    """Varnish 7 counts each failed connection under its cause (fail_econnrefused, ...)."""
    causes = [v for k, v in values.items() if k.startswith("fail_")]
    return sum(causes) if causes else values.get("fail", 0)


def _value(raw) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else 0


def read(status, stage, lives: dict[str, str | None], cwd) -> dict[str, dict]:
    """{instance: per_color(...) or {"error": why}} for every instance serving a VCL of ours
    (lives: {instance: that VCL}); a fault of one instance stays on its line."""
    many = len(stage.varnish) > 1
    argvs = {inst: _argv(status, address, lives[inst], many) for address in stage.varnish
             if lives.get(inst := str(address))}

    def one(inst: str) -> dict:
        argv = argvs[inst]
        if isinstance(argv, str):
            return {"error": argv}
        done = commands.run(argv, cwd, status.timeout_s)
        command = show(" ".join(argv), 200)
        if not done.ok:
            return {"error": f"{command}: {show(done.describe(), 200)}"}
        try:
            return per_color(done.output, lives[inst])
        except (ValueError, RecursionError):  # not JSON, not varnishstat's, or nested too deep
            return {"error": f"{command} did not print varnishstat's JSON "
                             f"({show(done.tail(), 120)}): is it varnishstat -1 -j?"}

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(argvs)))) as pool:
        return dict(zip(argvs, pool.map(one, argvs), strict=True))


def _argv(status, address, vcl: str, many: bool) -> list[str] | str:
    """One instance's command, or why there is none: a missing -n name, or a command that would
    read the same counters for every instance of a stage with more than one."""
    try:
        base = commands.for_instance(status.stat_command, address, status.names, "status.names")
    except ConfigError as exc:
        return exc.message
    if many and not any(p in arg for arg in status.stat_command for p in PER_INSTANCE):
        return ("status.stat_command: would read the same Varnish for every instance of the "
                "stage: name each instance's varnishd -n in status.names, or run it on {host}")
    return commands.fill(base, {"vcl": vcl})


def describe(found: dict) -> str:
    """'blue 120 requests, 0 failed; green 5 requests, 2 failed' or the error."""
    if "error" in found:
        return f"could not read: {found['error']}"
    return "; ".join(f"{c} {n['requests']} requests, {n['failed']} failed"
                     for c, n in found.items() if n["backends"]) or "no backends of ours in that VCL"
