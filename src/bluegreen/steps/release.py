"""release --stage S --version V: passive, deploy, verify, switch, record in one go."""

from bluegreen.context import Result
from bluegreen.steps import compare, deploy, passive, record, switch, verify


def run(ctx, args) -> Result:
    steps = {}
    for name, step in (("passive", passive), ("deploy", deploy), ("verify", verify),
                       ("compare", compare), ("switch", switch), ("record", record)):
        if name == "compare" and ctx.config.compare is None:
            continue  # compare runs only when [compare] is configured
        ctx.say(f"== {name} {args.stage}")
        result = step.run(ctx, args)
        steps[name] = result.data
        if result.exit_code:  # compare found unexpected changes: stop before the switch
            return Result(result.text, {"stage": args.stage, **steps, "ok": False,
                                        "exit": result.exit_code, "error": result.data.get("error")},
                          result.exit_code)
    summary = steps["record"]["summary"]
    return Result(summary, {"stage": args.stage, "summary": summary, **steps})
