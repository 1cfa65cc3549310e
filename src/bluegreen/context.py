"""What every step gets: the configuration, the output folder, the console, the outside world."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bluegreen.records.files import LocalStore, StageFiles

ADMIN_TIMEOUT_S = 5.0  # connect and each admin command; compiling a VCL gets longer


class Result:
    """What a step answers: text for stdout, data for --json, and the exit code."""

    __slots__ = ("text", "data", "exit_code")

    def __init__(self, text: str | None, data: dict, exit_code: int = 0):
        self.text, self.data, self.exit_code = text, data, exit_code


class Context:
    def __init__(self, config_path: str, out: Path, json: bool = False, environ: dict | None = None,
                 stream=None):
        self.config_path, self.out, self.json = config_path, Path(out), json
        self.environ = dict(os.environ) if environ is None else environ
        self.stream = stream
        self._config = None
        self._secrets: dict = {}

    @classmethod
    def from_args(cls, args) -> Context:
        return cls(config_path=args.config, out=Path(args.out), json=bool(getattr(args, "json", False)))

    @property
    def config(self):
        if self._config is None:
            from bluegreen.config import load

            self._config = load.load(self.config_path)
        return self._config

    def say(self, message: str) -> None:
        """One line of human-readable progress, on stderr. A line starting "WARNING: " is also
        appended to the file BLUEGREEN_WARNINGS names: the Jenkins library marks the build
        unstable with it."""
        print(message, file=self.stream or sys.stderr, flush=True)
        warnings = self.environ.get("BLUEGREEN_WARNINGS")
        if warnings and message.startswith("WARNING: "):
            try:
                with open(warnings, "a", encoding="utf-8") as fh:
                    fh.write(" ".join(message[len("WARNING: "):].split()) + "\n")
            except OSError as exc:
                print(f"(could not write the warning to {warnings}: {exc.strerror})",
                      file=self.stream or sys.stderr, flush=True)

    def files(self, stage) -> StageFiles:
        return StageFiles(self.out, stage.name, self.config.app)

    def secret(self, path=None) -> bytes:
        """The bytes of a Varnish secret file (the configured one by default), read once."""
        from bluegreen.varnish.admin import read_secret

        path = path or self.config.secret_file
        if path not in self._secrets:
            self._secrets[path] = read_secret(path)
        return self._secrets[path]

    def fleet(self, stage):
        from bluegreen.varnish.fleet import Fleet
        from bluegreen.varnish.targets import ActiveVcl, Label

        target = Label(stage.label) if self.config.label_mode else ActiveVcl()
        return Fleet(stage.varnish, [self.secret(p) for p in stage.secret_files],
                     timeout=ADMIN_TIMEOUT_S, target=target, **self._transport(stage))

    def _transport(self, stage) -> dict:
        """How to reach the stage's admin ports: through its admin_command, or plain TCP."""
        if not stage.admin_command:
            return {}
        from bluegreen.varnish import tunnel

        return {"connect": tunnel.connector(stage.admin_command, f"admin_command of stage {stage.name}",
                                            self.config.base_dir)}

    def store(self):
        """Where the recorded state comes from: inside a Jenkins build (BUILD_NUMBER and JOB_NAME
        set) the Jenkins store, elsewhere the local one. Inside a build without a Jenkins URL the
        Jenkins store refuses (exit 2) rather than fall back to a workspace Jenkins reuses."""
        if self.environ.get("JOB_NAME") and self.environ.get("BUILD_NUMBER"):
            from bluegreen.records.jenkins import JenkinsStore

            return JenkinsStore.from_environ(self.environ, str(self.out), self.say)
        return LocalStore()

    def build(self) -> dict | None:
        number = self.environ.get("BUILD_NUMBER")
        if not number:
            return None
        return {"number": int(number) if number.isdigit() else number,
                "url": self.environ.get("BUILD_URL")}


class Timer:
    def __init__(self):
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start
