"""Source 2 of `watch`: Varnish's own log, read with varnishncsa on every instance of the stage.

Each response the VCL delivers carries `std.log("bluegreen-color: <color>")` and
`std.log("bluegreen-site: <app>/<stage>")`, so varnishncsa with FORMAT prints
`<status>:<color>:<app>/<stage>` per response, Varnish's own 503s included (the app never sees
those); responses of other apps or stages sharing the Varnish (label mode) are not counted.
One varnishncsa per instance runs for the whole watch, in its own process group, read line by
line; each interval takes the counts so far and starts again. An interval in which
a reader wrote to stderr (a log overrun) or died is not whole: its figures are inconclusive.
"""

from __future__ import annotations

import threading

from bluegreen import commands
from bluegreen.errors import ConfigError, MetricsError
from bluegreen.watch.verdict import Figures

# no space, quote or pipe: safe through ssh's shell
FORMAT = "%s:%{VCL_Log:bluegreen-color}x:%{VCL_Log:bluegreen-site}x"


def log_argv(template: tuple[str, ...], instance, names: dict[str, str]) -> list[str]:
    """The argv reading one instance's log (instance: its admin Address)."""
    argv = commands.for_instance(template, instance, names, "watch.log_names", format=FORMAT)
    if not any("{format}" in arg for arg in template):
        argv += ["-F", FORMAT]
    return argv


def stage_argvs(watch, stage) -> dict[str, list[str]]:
    """{instance: argv} for every instance; refuse a template that reads one log twice."""
    argvs = {str(inst): log_argv(watch.log_command, inst, watch.log_names) for inst in stage.varnish}
    seen: dict[tuple, str] = {}
    for inst, argv in argvs.items():
        if tuple(argv) in seen:
            raise ConfigError(f"watch.log_command: reads the same log for {seen[tuple(argv)]} and "
                              f"{inst} ({' '.join(argv)}): use {{name}} with watch.log_names, or "
                              "{host} for a command run on each instance's host")
        seen[tuple(argv)] = inst
    return argvs


class Reader:
    """One varnishncsa: counts per color of responses and 5xx since the last take()."""

    def __init__(self, instance: str, argv: list[str], site: str, start=commands.Running):
        self.instance, self.argv, self.site, self._start = instance, argv, site, start
        self._lock = threading.Lock()
        self.lines = 0
        self._counts: dict[str, list[int]] = {}
        self._problems: list[str] = []
        self._stderr: list[str] = []
        self._launch()

    def _launch(self) -> None:
        self.process = self._start(self.argv)
        if self.process.proc is None:
            self._stderr.append(self.process.problem)
            return
        proc = self.process.proc
        for stream, handle in ((proc.stdout, self._count), (proc.stderr, self._warn)):
            threading.Thread(target=self._pump, args=(stream, handle), daemon=True).start()

    @staticmethod
    def _pump(stream, handle) -> None:
        for text in stream:
            handle(text.strip())

    def _count(self, text: str) -> None:
        status, _, rest = text.partition(":")
        color, _, site = rest.partition(":")
        if not status.isdigit() or site.strip() != self.site:
            return
        with self._lock:
            self.lines += 1
            tally = self._counts.setdefault(color.strip(), [0, 0])
            tally[0] += 1
            tally[1] += status.startswith("5")

    def _warn(self, text: str) -> None:
        if text:
            with self._lock:
                self._stderr.append(text)
                self._problems.append(f"varnishncsa on {self.instance}: {text}")

    def take(self) -> tuple[dict[str, list[int]], list[str]]:
        """The counts and problems since the last take; a reader that died is started again."""
        code = self.process.exited()
        if code is not None:
            if self.lines == 0:
                detail = "; ".join(self._stderr[-2:]) or "no output"
                raise MetricsError(f"cannot read Varnish's log on {self.instance}: "
                                   f"{' '.join(self.argv)} exited {code} ({detail}); check "
                                   "watch.log_command and watch.log_names; nothing was rolled back")
            with self._lock:
                self._problems.append(f"varnishncsa on {self.instance} exited {code}: started again")
            self._launch()
        with self._lock:
            counts, problems = self._counts, self._problems
            self._counts, self._problems = {}, []
        return counts, problems

    def stop(self) -> None:
        self.process.stop()


class VarnishLogSource:
    """What users got, per color, from every instance's log."""

    name = "varnish"

    def __init__(self, watch, stage, app: str, start=commands.Running):
        self.argvs = stage_argvs(watch, stage)
        self.site = f"{app}/{stage.name}"
        self._start = start
        self.readers: list[Reader] = []

    def describe(self) -> str:
        return f"Varnish's log on {len(self.argvs)} instance(s)"

    def begin(self, color: str, previous: str | None, switch_epoch: float | None) -> float | None:
        """Start reading; the old color's share before the switch is not known from here."""
        self.readers = [Reader(inst, argv, self.site, self._start) for inst, argv in self.argvs.items()]
        return None

    def figures(self, color: str, end_epoch: float, interval_s: float) -> Figures:
        requests = errors = 0
        problems: list[str] = []
        for reader in self.readers:
            counts, found = reader.take()
            problems += found
            requests += counts.get(color, [0, 0])[0]
            errors += counts.get(color, [0, 0])[1]
        missing = ("log not read whole: " + "; ".join(problems[:3])) if problems else None
        return Figures(requests, errors, missing=missing)

    def end(self) -> None:
        for reader in self.readers:
            reader.stop()
