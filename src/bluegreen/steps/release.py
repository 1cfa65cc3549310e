"""release --stage S --version V: passive, deploy, verify, compare, switch, record in one go."""

from bluegreen.context import Result
from bluegreen.errors import BluegreenError
from bluegreen.steps import compare, deploy, passive, record, switch, verify


def run(ctx, args) -> Result:
    steps = {}
    for name, step in (("passive", passive), ("deploy", deploy), ("verify", verify),
                       ("compare", compare), ("switch", switch), ("record", record)):
        if name == "compare" and ctx.config.compare is None:
            continue  # compare runs only when [compare] is configured
        ctx.say(f"== {name} {args.stage}")
        try:
            steps[name] = step.run(ctx, args).data
        except BluegreenError as exc:  # what the steps before found goes with the error
            exc.data = {"stage": args.stage, **steps, **({name: exc.data} if exc.data else {})}
            raise
    summary = steps["record"]["summary"]
    return Result(summary, {"stage": args.stage, "summary": summary, **steps})
