"""Files under OUT/S/: the plan of this run, the state artifact, the rendered VCLs.

The recorded state comes from a store: the local one (OUT/S/state.json left by the previous
run) by default; the Jenkins store reads the artifact of an earlier build instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from bluegreen.errors import BadRecord, DependencyError, Refused
from bluegreen.records.fields import Malformed
from bluegreen.records.plan import Plan
from bluegreen.records.state import State, stamp

LOCK_WAIT_S = 600.0  # another step of the same stage on this machine (a deploy) may take minutes


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
        """Write the record as it is (an archive copy); a change of it goes through `writing`."""
        write_json(self.state_path, stamp(state.to_json()))

    @contextmanager
    def writing(self, app: str, generation: int, key: str | None = None, wait_s: float = LOCK_WAIT_S,
                this_build=None):
        """Hold the stage's lock, check the record in OUT/S/ is still the one of `generation`
        that this run acted on, and give `commit(state)`: it writes the state with the next
        generation and returns it as written. Another writer that got there first is refused
        before anything changes (in Jenkins, `this_build`: only this build's own local record
        is compared; `passive --check` compares the Jenkins record before the move). With `key`,
        a record that already holds this very change (a rerun after a kill) is kept as it is."""
        with self.lock(wait_s):
            current = self.read_local_state(app)
            if current is not None and key is not None and any(e.key == key for e in current.history):
                yield lambda state: current
                return
            if current is not None and (this_build is None or current.build_number == this_build) \
                    and current.generation != generation:
                last = current.last
                what = f" ({last.action} at {last.at})" if last else ""
                raise Refused(f"the record of stage {self.stage} moved on since this run read it: it "
                              f"acted on generation {generation}, {self.state_path} is at "
                              f"{current.generation}{what}: another run wrote it first; nothing "
                              f"was changed; run 'status --stage {self.stage}'")
            written = [generation]

            def commit(state: State) -> State:
                state = state.updated(generation=written[-1] + 1)
                self.write_state(state)
                written.append(state.generation)
                return state

            yield commit

    @contextmanager
    def lock(self, wait_s: float = LOCK_WAIT_S):
        """The stage's writer lock (OUT/S/.lock, flock): one writer of the record at a time on
        this machine. Waits up to wait_s, naming the holder, then refuses."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / ".lock"
        with open(path, "a+", encoding="utf-8") as fh:
            end = time.monotonic() + wait_s
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= end:
                        fh.seek(0)
                        holder = fh.read().strip() or "another bluegreen run"
                        raise Refused(f"stage {self.stage} is being changed by {holder} (its "
                                      f"lock {path} is held); waited {wait_s:g} s: retry when it "
                                      "is done") from None
                    time.sleep(0.05)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}\n")
            fh.flush()
            try:
                yield
            finally:
                fh.truncate(0)
                fcntl.flock(fh, fcntl.LOCK_UN)

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

    def writing(self, files: StageFiles, app: str, generation: int, key: str | None = None):
        """A change of the record, compare-and-swap on its generation (StageFiles.writing)."""
        return files.writing(app, generation, key)

    def newest_generation(self, files: StageFiles, app: str) -> int:
        state = files.read_local_state(app)
        return state.generation if state else 0
