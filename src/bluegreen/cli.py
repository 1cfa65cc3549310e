"""python -m bluegreen [-c FILE] [--out DIR] [--json] STEP [--stage NAME] [options]

The one place that maps the error tree to exit codes. Steps are imported only when chosen, so
`switch` never pays for jinja2, requests or python-jenkins.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys

from bluegreen import __version__
from bluegreen.errors import BluegreenError

STEPS = {
    "passive": "determine the live and the passive color; print the passive color",
    "deploy": "deploy --version V onto every server of the passive color; load both VCLs",
    "verify": "check the passive color runs the release, healthy, directly and through Varnish",
    "compare": "replay safe requests to the live and the passive color; only expected changes pass",
    "switch": "make the passive color live on every Varnish instance of the stage at once",
    "record": "write state.json, report.html and summary.txt for the stage",
    "rollback": "make the previous color live again, after checking it",
    "status": "show what every Varnish instance serves, the record, drift, rollback readiness",
    "release": "passive, deploy, verify, switch and record in one go",
    "adopt": "record what Varnish serves as the truth (after drift), with a reason",
    "reconcile": "put the recorded live color back on every instance (after a restart)",
    "retire": "after the rollback window: stop the previous color, then contract the schema",
    "watch": "after the switch: judge the live color's error rate; roll back at once if it fails",
    "demo": "a full release on this machine: local Varnish, two colors, traffic, rollback",
    "vcl-snippet": "print the lines your own VCL needs to route to this stage's label (label mode)",
}


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own, sized by os.get_terminal_size: argparse's asks shutil, which imports the
    compression modules (bz2, lzma) on every step's start, `switch` included."""

    def __init__(self, prog: str):
        try:
            width = os.get_terminal_size().columns - 2
        except OSError:  # not a terminal (Jenkins, a pipe)
            width = 100
        super().__init__(prog, width=max(40, width))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that step's subparser (a faster start for one step)."""
    common = argparse.ArgumentParser(add_help=False, formatter_class=HelpFormatter)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON document on stdout")
    parser = argparse.ArgumentParser(prog="bluegreen", description="Blue-green releases behind Varnish.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("-c", "--config", default=os.environ.get("BLUEGREEN_CONFIG", "bluegreen.toml"),
                        help="configuration file (default bluegreen.toml, env BLUEGREEN_CONFIG)")
    parser.add_argument("--out", default=os.environ.get("BLUEGREEN_OUT", "bluegreen-out"),
                        help="output folder (default bluegreen-out, env BLUEGREEN_OUT)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument("--version", action="version", version=f"bluegreen {__version__}",
                        help="print the version of bluegreen and exit")
    sub = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    for name, text in STEPS.items():
        if only and name != only:
            continue
        p = sub.add_parser(name, help=text, description=text, parents=[common],
                           formatter_class=HelpFormatter)
        if name != "demo":
            p.add_argument("--stage", required=name not in ("status",), help="stage name")
        if name in ("deploy", "release"):
            p.add_argument("--version", required=True, help="the release to deploy")
        if name in ("switch", "release"):
            p.add_argument("--force", action="store_true",
                           help="switch without a passed verify (loud, and recorded)")
            p.add_argument("--no-warmup", action="store_true",
                           help="do not warm the target color's cache first ([warmup])")
        if name == "passive":
            p.add_argument("--check", action="store_true",
                           help="write no plan: refuse (exit 1) when Varnish or the newest record "
                                "moved since this run's plan (right before the switch)")
        if name == "compare":
            p.add_argument("--expected", help="the expected-changes file (default compare.expected)")
        if name == "adopt":
            p.add_argument("--reason", required=True, help="why Varnish is taken as the truth")
        if name == "retire":
            p.add_argument("--now", action="store_true",
                           help="retire inside the rollback window (rollback then takes a redeploy)")
        if name == "demo":
            p.add_argument("--keep", action="store_true",
                           help="leave the demo running until Ctrl-C")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_chosen_step(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed its usage message
        return 0 if exc.code == 0 else 2
    from bluegreen.context import Context

    ctx = Context.from_args(args)
    try:
        signal.signal(signal.SIGTERM, _interrupt)  # an aborted build: clean up as for Ctrl-C
    except ValueError:  # not the main thread (an embedding caller): signals are not ours
        pass
    try:
        module = importlib.import_module(_module(args.step))
        result = module.run(ctx, args)
    except BluegreenError as exc:
        return _fail(ctx, exc.message, exc.exit_code, exc.data, exc.text)
    except KeyboardInterrupt:
        return _fail(ctx, "interrupted", 130)
    except Exception as exc:  # a bug: say so plainly, with the traceback only on request
        if os.environ.get("BLUEGREEN_DEBUG") == "1":
            raise
        return _fail(ctx, f"internal error ({exc.__class__.__name__}: {exc}); rerun with "
                          "BLUEGREEN_DEBUG=1 for the traceback and report it", 3)
    if ctx.json:
        print(json.dumps(result.data, indent=2))
    elif result.text is not None:
        print(result.text)
    return result.exit_code


def _module(step: str) -> str:
    """The module that carries out a step; the demo lives outside the core package's steps."""
    return "bluegreen.demo.run" if step == "demo" else f"bluegreen.steps.{step.replace('-', '_')}"


def _interrupt(number, frame):
    raise KeyboardInterrupt


def _chosen_step(argv: list[str]) -> str | None:
    """The step named on the command line, if it is plainly there; None builds every subparser."""
    takes_value = {"-c", "--config", "--out"}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            return arg if arg in STEPS else None
    return None


def _fail(ctx, message: str, code: int, data: dict | None = None, text: str | None = None) -> int:
    """The one rendering of a step that failed or refused: the error on stderr; on stdout what
    the step found (its JSON document with the error, or its answer line)."""
    print(f"bluegreen: {message}", file=sys.stderr)
    if ctx.json:
        document = {**(data or {}), "ok": False, "exit": code, "error": message}
        print(json.dumps(document, indent=2 if data else None))
    elif text is not None:
        print(text)
    return code
