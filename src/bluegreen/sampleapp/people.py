"""The sample app's data: a `people` table in the shared database, read and written by each release.

    GET  /people            the names, as JSON {"release", "people": [...]}
    POST /people?name=N     adds a person; answers 201

The database is $SAMPLEAPP_DATABASE_URL (sqlite:///PATH, or postgresql://... through psycopg);
without it these routes answer 503 and the rest of the app is unchanged (the demo needs none).

What a release does follows its major number, the column rename of docs/schema.md:

    1.x  reads and writes `name`
    2.x  reads `full_name` (falling back to `name` for rows release 1 wrote), writes both while
         `name` exists, so release 1 keeps working beside it; after 2's contraction drops `name`,
         it writes `full_name` alone
    3.x  reads and writes `full_name` only
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading

from bluegreen.sampleapp.answer import Answer

_local = threading.local()


def generation(release: str) -> int:
    found = re.match(r"v?(\d+)", release)
    return int(found.group(1)) if found else 1


class Database:
    """One connection per thread, in autocommit; `?` placeholders on either driver."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))

    def connection(self):
        conn = getattr(_local, "conn", None)
        if conn is None:
            if self.postgres:
                import psycopg

                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            else:
                conn = sqlite3.connect(self.url[len("sqlite:///"):], timeout=10,
                                       isolation_level=None, check_same_thread=False)
            _local.conn = conn
        return conn

    def query(self, sql: str, args: tuple = ()) -> list:
        if self.postgres:
            sql = sql.replace("?", "%s")
        try:
            cursor = self.connection().execute(sql, args)
            return cursor.fetchall() if cursor.description else []
        except Exception:
            self.forget()
            raise

    def forget(self) -> None:
        conn = getattr(_local, "conn", None)
        _local.conn = None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def columns(self, table: str) -> set[str]:
        if self.postgres:
            rows = self.query("select column_name from information_schema.columns "
                              "where table_schema = current_schema() and table_name = ?", (table,))
            return {r[0] for r in rows}
        return {r[1] for r in self.query(f'pragma table_info("{table}")')}


_db: Database | None = None


def database() -> Database | None:
    global _db
    url = os.environ.get("SAMPLEAPP_DATABASE_URL")
    if not url:
        return None
    if _db is None or _db.url != url:
        _db = Database(url)
    return _db


def read_names(db: Database, release: str) -> list[str]:
    gen = generation(release)
    if gen <= 1:
        rows = db.query("select name from people order by id")
    elif gen == 2 and "name" in db.columns("people"):
        rows = db.query("select coalesce(full_name, name) from people order by id")
    else:
        rows = db.query("select full_name from people order by id")
    return [r[0] for r in rows]


def add_name(db: Database, release: str, name: str) -> None:
    gen = generation(release)
    if gen <= 1:
        db.query("insert into people (name) values (?)", (name,))
    elif gen == 2 and "name" in db.columns("people"):
        db.query("insert into people (name, full_name) values (?, ?)", (name, name))
    else:
        db.query("insert into people (full_name) values (?)", (name,))


def people(req):

    db = database()
    if db is None:
        return Answer(503, "no database: set SAMPLEAPP_DATABASE_URL\n")
    try:
        if req.method == "POST":
            name = (req.query.get("name") or [""])[0]
            if not name:
                return Answer(400, "name= is required\n")
            add_name(db, req.release, name)
            return Answer(201, json.dumps({"release": req.release, "added": name}) + "\n",
                          "application/json")
        names = read_names(db, req.release)
    except Exception as exc:  # the sample app says what broke: a release the schema moved past
        return Answer(500, f"database error: {exc.__class__.__name__}: {str(exc).strip()[:200]}\n")
    return Answer(200, json.dumps({"release": req.release, "people": names}) + "\n",
                  "application/json")
