"""The database catalogue (tables, columns, their types), and what an expand took away.

A catalogue is `{table: {column: {"type": str, "nullable": bool, "default": bool}}}`. It is read
either by the `[schema] inspect` command (any argv printing that JSON on stdout; a column may be
just its type string) or by the built-in reader for `[schema] database` (sqlite:///PATH, or
postgresql://... through psycopg). `python -m bluegreen.catalogue [URL]` prints it (URL defaults
to $DATABASE_URL), so an inspect command can be this module run where the database is reachable.

`lost(before, after)` is pure: what an expand dropped, renamed (a drop, to the old release) or
retyped, and the new NOT NULL columns without a default that the live release's inserts would
break on.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bluegreen import commands
from bluegreen.config.values import database_url_fault
from bluegreen.errors import ConfigError, MigrationError
from bluegreen.model import hide_passwords, shown_url

PG_COLUMNS = """
select c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES', c.column_default is not null
from information_schema.columns c
join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
order by c.table_name, c.ordinal_position
"""


def read_url(url: str) -> dict:
    """The catalogue of the database at url; MigrationError when it cannot be read."""
    if url.startswith("sqlite:///"):
        return _sqlite(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        check_url(url)
        return _postgres(url)
    raise ConfigError(f"schema.database: '{shown_url(url)}' should start with sqlite:/// or "
                      "postgresql://; for another database set schema.inspect to a command that "
                      "prints the catalogue as JSON")


def read_command(argv: list[str], cwd: Path, timeout: float, pass_secrets: bool = False) -> dict:
    done = commands.run(argv, cwd, timeout, pass_secrets)
    if not done.ok:
        raise MigrationError(f"schema.inspect {scrub(' '.join(argv))} failed "
                             f"({scrub(done.describe(5))})")
    try:
        return normalise(json.loads(done.output))
    except RecursionError:
        raise MigrationError(f"schema.inspect {scrub(' '.join(argv))} printed JSON nested too deep "
                             "to be a catalogue; expected {table: {column: type}}") from None
    except ValueError as exc:
        raise MigrationError(f"schema.inspect {scrub(' '.join(argv))} did not print a catalogue as JSON "
                             f"({exc}); expected {{table: {{column: type}}}}") from None


def normalise(data) -> dict:
    if not isinstance(data, dict):
        raise ValueError("the top level is not an object")
    tables = data.get("tables", data) if set(data) == {"tables"} else data
    out = {}
    for table, columns in tables.items():
        if not isinstance(columns, dict):
            raise ValueError(f"table {table!r} is not an object of columns")
        out[str(table)] = {str(c): _column(v) for c, v in columns.items()}
    return out


def _column(value) -> dict:
    if isinstance(value, str):
        return {"type": value.lower(), "nullable": True, "default": False}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return {"type": value["type"].lower(), "nullable": bool(value.get("nullable", True)),
                "default": bool(value.get("default", False))}
    raise ValueError(f"a column should be a type string or {{\"type\": ...}}, not {value!r}")


def lost(before: dict, after: dict) -> list[str]:
    """What the release still live would miss after the change, one phrase each (pure)."""
    found = []
    for table, columns in sorted(before.items()):
        if table not in after:
            found.append(f"table {table} was dropped or renamed")
            continue
        now = after[table]
        for name, was in columns.items():
            if name not in now:
                found.append(f"column {table}.{name} was dropped or renamed")
            elif now[name]["type"] != was["type"]:
                found.append(f"column {table}.{name} was retyped from {was['type']} to "
                             f"{now[name]['type']}")
            elif was["nullable"] and not now[name]["nullable"]:
                found.append(f"column {table}.{name} was made NOT NULL")
        for name, col in now.items():
            if name not in columns and not col["nullable"] and not col["default"]:
                found.append(f"column {table}.{name} was added NOT NULL without a default "
                             "(the live release's inserts would fail)")
    return found


# -- the built-in readers ----------------------------------------------------------------------

def _sqlite(path: str) -> dict:
    import sqlite3

    if not Path(path).exists():  # not created yet (the first expand creates it): nothing in it
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            tables = [r[0] for r in db.execute(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
                "order by name")]
            return {t: {r[1]: {"type": (r[2] or "").lower(), "nullable": not r[3] and not r[5],
                               "default": r[4] is not None}
                        for r in db.execute(f'pragma table_info("{t}")')} for t in tables}
    except sqlite3.Error as exc:
        raise MigrationError(f"cannot read the catalogue of SQLite {path}: {exc}") from None


def _postgres(url: str) -> dict:
    try:
        import psycopg
    except ImportError:
        raise ConfigError("schema.database: reading a PostgreSQL catalogue needs psycopg: "
                          "pip install 'bluegreen[postgres]' (or set schema.inspect)") from None
    out: dict = {}
    try:
        with psycopg.connect(url, connect_timeout=10) as db:
            for table, column, kind, nullable, default in db.execute(PG_COLUMNS):
                out.setdefault(table, {})[column] = {"type": kind, "nullable": nullable,
                                                     "default": default}
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise MigrationError(f"cannot read the catalogue of {shown_url(url)}: "
                             f"{_without(first, _passwords(url))}") from None
    return out


def check_url(url: str) -> None:
    """Refuse a database URL a driver would misread, before any driver sees it: drivers quote
    what they cannot parse, password included. ConfigError (exit 2) with the URL scrubbed."""
    why = database_url_fault(url)
    if why:
        raise ConfigError(f"schema.database: {shown_url(url)} {why}")


def scrub(text: str) -> str:
    """The text with the password of any URL in it left out (user:***@host)."""
    return hide_passwords(text)


def _passwords(url: str) -> set[str]:
    """The password of a URL, as written and decoded, to be kept out of a driver's message."""
    from urllib.parse import unquote

    userinfo = url.partition("://")[2].rpartition("@")[0]
    password = userinfo.partition(":")[2]
    return {p for p in (password, unquote(password)) if p}


def _without(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return scrub(text)


def main(argv: list[str]) -> int:
    url = argv[0] if argv else os.environ.get("DATABASE_URL")
    if not url:
        print("usage: python -m bluegreen.catalogue URL (or set DATABASE_URL)", file=sys.stderr)
        return 2
    try:
        print(json.dumps(read_url(url), indent=1, sort_keys=True))
    except (ConfigError, MigrationError) as exc:
        print(f"bluegreen.catalogue: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
