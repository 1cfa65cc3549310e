"""release --stage S --version V: passive, deploy, verify, switch, record in one go."""

from bluegreen.context import Result
from bluegreen.steps import deploy, passive, record, switch, verify


def run(ctx, args) -> Result:
    steps = {}
    for name, step in (("passive", passive), ("deploy", deploy), ("verify", verify),
                       ("switch", switch), ("record", record)):
        ctx.say(f"== {name} {args.stage}")
        steps[name] = step.run(ctx, args).data
    summary = steps["record"]["summary"]
    return Result(summary, {"stage": args.stage, "summary": summary, **steps})
