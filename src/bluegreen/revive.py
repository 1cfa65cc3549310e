"""What rollback does first, by the previous color's readiness (see lifecycle.py).

    hot         nothing: rollback is one vcl.use, as ever
    retired     deploy its release onto it again with the deploy command, wait until it is healthy
                on that release and Varnish's probes see it healthy; rollback then checks and
                switches as usual (the same code as deploy and verify)
    contracted  refuse (exit 1) naming the contraction: roll forward instead
"""

from __future__ import annotations

from bluegreen import lifecycle
from bluegreen.errors import CheckFailed, DeployError, Refused
from bluegreen.plan import instance_colors


def before_rollback(ctx, stage, state: dict | None) -> None:
    action = lifecycle.rollback_action(state)
    if action["action"] == lifecycle.REFUSE:
        raise Refused(f"{action['why']}; nothing live changed")
    if action["action"] != lifecycle.REDEPLOY:
        return
    color, release = action["color"], action["release"]
    with ctx.fleet(stage) as fleet:
        colors = instance_colors(ctx.config.app, stage.name, fleet.lives())
    serving = [inst for inst, c in colors.items() if c == color]
    if serving and len(serving) == len(colors):
        return  # a rollback killed after its switch: roll_back records it
    if serving:
        raise Refused(f"{color} is live on {', '.join(serving)} but not on every instance: run "
                      f"'status --stage {stage.name}'; nothing was deployed")
    ctx.say(f"rollback {stage.name}: this takes longer: {action['why']}")
    redeploy(ctx, stage, color, release, state)


def redeploy(ctx, stage, color: str, release: str, state: dict) -> None:
    """The release back onto a retired color, checked as verify checks it: its servers, then
    through every Varnish with the preview header, then the smoke command (invariant 1 holds: the
    caller saw that no instance serves `color`). roll_back then loads the color's VCL if it is
    gone, waits for Varnish's probes and switches, as for a hot color."""
    from bluegreen import checks, preview
    from bluegreen.steps import deploy, verify

    config = ctx.config
    outcomes = deploy._deploy_servers(ctx, config, stage, color, release)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise DeployError(f"rollback {stage.name}: redeploying {release} onto {color} failed on "
                          + "; ".join(f"{o.server}: {o.detail}" for o in failed)
                          + "; nothing live changed")
    deadline = checks.Deadline(config.checks.wait_s)
    results = verify._servers(ctx, config, stage, color, release, deadline)
    if not any(not c.ok for c in results):  # then as verify does: through Varnish, smoke
        token = preview.read_token(config)
        results += [verify._through_varnish(config, front, color, release, token, deadline)
                    for front in preview.addresses(stage)]
        if config.checks.smoke:
            results.append(verify._smoke(config, stage, color, release))
    bad = [c for c in results if not c.ok]
    if bad:
        raise CheckFailed(f"rollback {stage.name}: {color} {release} was redeployed but does not "
                          f"pass: {bad[0].name}: {bad[0].detail}; nothing live changed")
    ctx.say(f"rollback {stage.name}: {color} {release} is back and healthy; switching")
