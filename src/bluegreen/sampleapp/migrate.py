#!/usr/bin/env python3
"""The sample app's migrations, in two phases kept apart (Alembic, two branches in two folders):

    python -m bluegreen.sampleapp.migrate expand   RELEASE [URL]   bluegreen's schema.expand
    python -m bluegreen.sampleapp.migrate contract RELEASE [URL]   bluegreen's schema.contract
    python -m bluegreen.sampleapp.migrate check    RELEASE [URL]   bluegreen's schema.pending:
                                                   exit 0 nothing pending, 2 expand, 4 contract

migrations/expand/ only adds (the branch labelled "expand"); migrations/contract/ removes what only
an earlier release used (the branch labelled "contract", each revision depending on the expand
revision it finishes). Upgrading to a revision already reached does nothing, so every command is
idempotent. URL defaults to $SAMPLEAPP_DATABASE_URL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bluegreen.sampleapp.people import generation

HERE = Path(__file__).resolve().parent / "migrations"
# the newest revision of each phase that a release generation needs
EXPAND = {1: "e1", 2: "e2"}
CONTRACT = {2: "c2"}


def target(phase: str, release: str) -> str | None:
    table = EXPAND if phase == "expand" else CONTRACT
    fit = [gen for gen in table if gen <= generation(release)]
    return table[max(fit)] if fit else None


def alembic_config(url: str):
    from alembic.config import Config

    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", f"{HERE / 'expand'} {HERE / 'contract'}")
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def pending(config, phase: str, release: str) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    wanted = target(phase, release)
    if wanted is None:
        return False
    script = ScriptDirectory.from_config(config)
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    reached = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base")}
    return wanted not in reached


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[0] not in ("expand", "contract", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    phase, release = argv[0], argv[1]
    url = argv[2] if len(argv) == 3 else os.environ.get("SAMPLEAPP_DATABASE_URL")
    if not url:
        print("migrate: no database: pass URL or set SAMPLEAPP_DATABASE_URL", file=sys.stderr)
        return 2
    from alembic import command

    config = alembic_config(url)
    if phase == "check":
        if pending(config, "expand", release):
            return 2
        return 4 if pending(config, "contract", release) else 0
    wanted = target(phase, release)
    if wanted is None:
        print(f"migrate {phase} {release}: nothing to do for this release")
        return 0
    command.upgrade(config, wanted)
    print(f"migrate {phase} {release}: at {wanted}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
