"""The shared database's migrations: expand (in deploy) and contract (in retire).

    expand    deploy runs schema.expand once per release and stage, once the plan holds and before
              the passive servers change; with schema.inspect or schema.database the catalogue is
              read before and after, and anything the live release used that is gone, renamed or
              retyped refuses the release (exit 1) before anything is deployed
    contract  retire runs schema.contract ({version} = the live release) once the previous
              color's servers are stopped
    pending   optional: what the database itself says is pending for a release (exit 0 nothing,
              2 expand, 4 contract, 6 both); where set, it is the truth over the record: deploy
              runs the expand when it is pending (and skips it when not), checks after it that it
              is no longer pending, and switch refuses a release whose expand is pending

bluegreen decides *when* each phase may run; the commands decide *what* they change. Every
command runs through `commands.run` (no shell, a timeout that kills its process group); a failure
is a MigrationError (exit 3) carrying the command's own output.
"""

from __future__ import annotations

from bluegreen import commands
from bluegreen.errors import MigrationError, Refused
from bluegreen.model import now_iso
from bluegreen.records.plan import Expand, Plan
from bluegreen.schema import catalogue

OUTPUT_LINES = 15
PENDING = {0: (), 2: ("expand",), 4: ("contract",), 6: ("expand", "contract")}  # schema.pending's exits


def expand(ctx, stage, files, plan: Plan, release: str) -> None:
    """Run schema.expand for `release` unless this plan or the record says it already ran."""
    schema = ctx.config.schema
    if schema is None or not schema.expand:
        return
    done = plan.expand if plan.expand and plan.expand.release == release else None
    if done and done.lost:
        raise Refused(_lost_message(release, done.lost, stage.name))
    ran = bool(done and done.ok)
    recorded = bool(plan.previous_state and plan.previous_state.migration("expand", release))
    found = pending(ctx, release)
    if found is None:  # schema.pending is not set: this plan and the record decide
        if ran:
            ctx.say(f"schema expand {release}: already ran in this plan at {done.at}; skipped")
            return
        if recorded:
            _skip(ctx, files, plan, release, f"already recorded for stage {stage.name}")
            return
    elif "expand" not in found:  # the database decides
        _skip(ctx, files, plan, release, "schema.pending says nothing is pending")
        return
    elif recorded or ran:
        ctx.say(f"schema expand {release}: recorded as done, but schema.pending says it is "
                "pending (a restored database?): running it again")
    before = read_catalogue(ctx)
    argv = commands.fill(schema.expand, {"version": release})
    ctx.say(f"schema expand {release}: {_shown(argv)}")
    finished = commands.run(argv, ctx.config.base_dir, schema.timeout_s, ctx.config.deploy.pass_secrets)
    if not finished.ok:
        _keep(files, plan, Expand(release, False, now_iso(), detail=_described(finished)))
        raise MigrationError(f"schema.expand for {release} failed ({_described(finished)}); nothing "
                             f"was deployed onto {plan.passive} and nothing live changed; fix "
                             f"the migration, then run deploy again{_output(finished)}")
    after = read_catalogue(ctx) if before is not None else None
    lost = catalogue.lost(before, after) if before is not None else []
    _keep(files, plan, Expand(release, not lost, now_iso(), seconds=round(finished.seconds, 3),
                              checked=before is not None, lost=lost))
    if lost:
        raise Refused(_lost_message(release, lost, stage.name))
    require_expanded(ctx, release, f"schema.expand ran but did not bring the database to {release}: "
                     "fix the migration, then run deploy again; nothing was deployed")
    ctx.say(f"schema expand {release}: done in {finished.seconds:.1f} s"
            + ("; the catalogue only grew" if before is not None else ""))


def contract(ctx, release: str) -> float:
    """Run schema.contract for the live release; MigrationError with its output on failure."""
    schema = ctx.config.schema
    argv = commands.fill(schema.contract, {"version": release})
    ctx.say(f"schema contract {release}: {_shown(argv)}")
    finished = commands.run(argv, ctx.config.base_dir, schema.timeout_s, ctx.config.deploy.pass_secrets)
    if not finished.ok:
        raise MigrationError(f"schema.contract for {release} failed ({_described(finished)}); it is "
                             "recorded as started, so rollback to the previous color refuses (part of "
                             "it may have run) unless schema.pending shows nothing was contracted; "
                             f"fix the migration, then run retire again{_output(finished)}")
    return finished.seconds


def pending(ctx, release: str, timeout_s: float | None = None) -> set[str] | None:
    """What schema.pending says is pending for `release` ({"expand"}, {"contract"}, both or
    none); None when it is not configured. MigrationError (exit 3) when it cannot tell."""
    schema = ctx.config.schema
    if schema is None or not schema.pending:
        return None
    argv = commands.fill(schema.pending, {"version": release})
    finished = commands.run(argv, ctx.config.base_dir, timeout_s or schema.timeout_s,
                            ctx.config.deploy.pass_secrets)
    if finished.problem is None and finished.code in PENDING:
        return set(PENDING[finished.code])
    raise MigrationError(f"schema.pending for {release} could not tell ({_described(finished)}): it "
                         "should exit 0 (nothing pending), 2 (expand pending), 4 (contract pending) "
                         f"or 6 (both); nothing live changed{_output(finished)}")


def require_expanded(ctx, release: str, then: str) -> None:
    """Refuse (exit 1) when schema.pending says `release`'s expand is not in the database."""
    found = pending(ctx, release)
    if found and "expand" in found:
        raise Refused(f"schema.pending says the expand of {release} is pending in the shared "
                      f"database: {then}")


def read_catalogue(ctx) -> dict | None:
    """The catalogue through schema.inspect, else schema.database; None when neither is set."""
    schema = ctx.config.schema
    if schema.inspect:
        return catalogue.read_command(list(schema.inspect), ctx.config.base_dir, schema.timeout_s,
                                      ctx.config.deploy.pass_secrets)
    if schema.database:
        return catalogue.read_url(schema.database)
    return None


def _skip(ctx, files, plan: Plan, release: str, why: str) -> None:
    ctx.say(f"schema expand {release}: {why}; skipped")
    _keep(files, plan, Expand(release, True, now_iso(), skipped=True))


def _keep(files, plan: Plan, entry: Expand) -> None:
    plan.expand = entry
    files.write_plan(plan)


def _lost_message(release: str, lost: list[str], stage: str) -> str:
    return (f"schema.expand for {release} took away what the live release may use: "
            f"{'; '.join(lost)}; expand may only add, so both releases keep working: move this "
            "change to schema.contract (run by retire); nothing was deployed and nothing live "
            f"changed; repair the database, then run 'passive --stage {stage}' and deploy again")


def _shown(argv: list[str]) -> str:
    """The command as shown in progress: a database URL's password left out."""
    return " ".join(catalogue.scrub(arg) for arg in argv)


def _described(finished) -> str:
    """How a command ended ('exit 2: <its last line>'), a database URL's password left out."""
    return catalogue.scrub(finished.describe())


def _output(finished) -> str:
    text = finished.output.strip()
    if not text:
        return ""
    lines = text.splitlines()[-OUTPUT_LINES:]
    return "; its output:\n" + "\n".join(f"    {catalogue.scrub(line)}" for line in lines)
