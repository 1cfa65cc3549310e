"""vcl-snippet --stage S: the lines the site's own VCL needs in label mode.

In label mode the operator's main VCL stays active and hands this app's requests to a label
that bluegreen moves. That VCL can only be compiled once the label exists, which the first
`switch` creates: see docs/vcl.md, "Sharing a Varnish".
"""

from bluegreen.context import Result


def run(ctx, args) -> Result:
    config = ctx.config
    stage = config.stage(args.stage)
    host = config.checks.host or f"{config.app}.example.com"
    text = "\n".join([
        f"# bluegreen label mode: app {config.app}, stage {stage.name}.",
        f"# The label {stage.label} exists once 'bluegreen switch --stage {stage.name}' has run",
        "# (the first release); only then does this VCL compile. Add to your main VCL:",
        "sub vcl_recv {",
        f'    if (req.http.host ~ "^{host.replace(".", "[.]")}(:[0-9]+)?$") {{',
        f"        return (vcl({stage.label}));",
        "    }",
        "}",
    ])
    if not config.label_mode:
        ctx.say(f"note: [vcl] mode is \"{config.vcl.mode}\"; these lines are for mode = \"label\"")
    return Result(text, {"stage": stage.name, "label": stage.label, "mode": config.vcl.mode,
                         "vcl": text})
