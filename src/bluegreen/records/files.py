"""Files under OUT/S/: the plan of this run, the state artifact, the rendered VCLs.

The recorded state comes from a store: the local one (OUT/S/state.json left by the previous
run) by default; the Jenkins store reads the artifact of an earlier build instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bluegreen.errors import BadRecord, DependencyError, Refused
from bluegreen.records.fields import Malformed
from bluegreen.records.plan import Plan
from bluegreen.records.state import State, stamp


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_state(data, source: str, app: str, stage: str) -> State:
    """A state record checked whole; BadRecord (exit 2) naming the source and the fault."""
    try:
        return State.read(data, app, stage, source)
    except Malformed as fault:
        raise BadRecord(f"{source} is not valid bluegreen state: {fault}; fix or remove it, then "
                        f"run 'adopt --stage {stage} --reason ...' to record what Varnish serves") from None


def read_plan(data, source: str, app: str, stage: str) -> Plan:
    """This run's plan checked whole; Refused (plan again) when it is not one of ours."""
    try:
        return Plan.read(data, app, stage, source)
    except Malformed as fault:
        raise Refused(f"{source} is not a usable plan: {fault}; run 'passive --stage {stage}' "
                      "to plan again") from None


class StageFiles:
    """The files of one stage in the output folder."""

    def __init__(self, out: Path, stage: str, app: str | None = None):
        self.dir = Path(out) / stage
        self.stage, self.app = stage, app

    plan_path = property(lambda self: self.dir / "plan.json")
    state_path = property(lambda self: self.dir / "state.json")
    junit_path = property(lambda self: self.dir / "junit-verify.xml")
    report_path = property(lambda self: self.dir / "report.html")
    summary_path = property(lambda self: self.dir / "summary.txt")

    def vcl_path(self, name: str) -> Path:
        return self.dir / "vcl" / f"{name}.vcl"

    def read_plan(self, required_by: str) -> Plan:
        try:
            plan = json.loads(self.plan_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise Refused(f"no plan for stage {self.stage} in {self.dir}: run "
                          f"'passive --stage {self.stage}' before '{required_by}'") from None
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            raise Refused(f"{self.plan_path} is unreadable ({_first_line(exc)}): run "
                          f"'passive --stage {self.stage}' again") from None
        return read_plan(plan, str(self.plan_path), self.app or plan_app(plan), self.stage)

    def write_plan(self, plan: Plan) -> None:
        write_json(self.plan_path, stamp(plan.to_json()))

    def read_local_state(self, app: str) -> State | None:
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DependencyError(f"cannot read {self.state_path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise DependencyError(f"{self.state_path} is not UTF-8 JSON: fix or remove it") from None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to be state
            raise DependencyError(f"{self.state_path} is not JSON: fix or remove it") from None
        return read_state(data, str(self.state_path), app, self.stage)

    def write_state(self, state: State) -> None:
        write_json(self.state_path, stamp(state.to_json()))

    def save_vcl(self, name: str, source: str) -> None:
        if not self.vcl_path(name).exists():
            write_text(self.vcl_path(name), source)

    def load_vcl(self, name: str) -> str | None:
        try:
            return self.vcl_path(name).read_text(encoding="utf-8")
        except OSError:
            return None


def _first_line(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return text.splitlines()[0] if text.strip() else exc.__class__.__name__


def plan_app(plan) -> str | None:
    return plan.get("app") if isinstance(plan, dict) else None


class LocalStore:
    """The embedded default: the state.json the previous run left in OUT/S/."""

    description = "the local record"

    def load(self, files: StageFiles, app: str) -> State | None:
        return files.read_local_state(app)

    def vcl_source(self, files: StageFiles, name: str) -> str | None:
        """No other copy than OUT/S/vcl/, which the caller has looked at already."""
        return None
