"""A real PostgreSQL (Debian's postgresql 15) for the tests: its own data directory, a loopback
port and a socket directory, started as the `postgres` user when the tests run as root, stopped
after with pg_ctl (and its postmaster killed if pg_ctl cannot). One server per test session and
worker; one database per test (the fixtures in tests/integration/conftest.py)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ports

PG_BIN = Path(os.environ.get("BLUEGREEN_PG_BIN", "/usr/lib/postgresql/15/bin"))


class LocalPostgres:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.port = ports.free_port()

    def _as_owner(self, argv: list) -> list[str]:
        argv = [str(a) for a in argv]
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> LocalPostgres:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL is not installed ({PG_BIN}/initdb): apt-get install -y postgresql")
        for path in (self.data, self.sockets):
            path.mkdir(parents=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(path, user.pw_uid, user.pw_gid)
        self.data.chmod(0o700)
        self._run([PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--locale=C", "--no-sync"])
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        log = self.root / "pg_ctl.log"
        if os.geteuid() == 0:
            log.touch()
            shutil.chown(log, "postgres")
        self._run([PG_BIN / "pg_ctl", "-D", self.data, "-l", log, "-w", "-t", "60", "-o", options,
                   "start"])
        return self

    def _run(self, argv: list) -> None:
        proc = subprocess.run(self._as_owner(argv), capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        return self.url(name)

    def execute(self, url: str, sql: str) -> list:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def columns(self, url: str, table: str) -> list[str]:
        rows = self.execute(url, "select column_name from information_schema.columns where "
                                 f"table_schema = 'public' and table_name = '{table}' order by 1")
        return [r[0] for r in rows]

    def stop(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            return
        try:
            self._run([PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "-t", "30", "stop"])
        except (RuntimeError, subprocess.TimeoutExpired):
            pidfile = self.data / "postmaster.pid"
            if pidfile.exists():
                pid = int(pidfile.read_text().split()[0])
                try:
                    os.killpg(os.getpgid(pid), 9)
                except ProcessLookupError:
                    pass
