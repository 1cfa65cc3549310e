"""The shared database: expand in deploy, contract only in retire, rollback by readiness.

Real PostgreSQL (tests/helpers/postgres.py), real Varnish, the sample app reading and writing its
`people` table, its Alembic migrations (bluegreen.sampleapp.migrate), wrk for load.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from bluegreen.checks import http
from tests.helpers.migrations import STOP, answers, configure
from tests.helpers.paths import ROOT

DROP_NAME = [sys.executable, "-c", "import psycopg, sys; psycopg.connect(sys.argv[1], autocommit=True)"
             ".execute('alter table people drop column name')"]
KILL_PARENT = [sys.executable, "-c", "import os, signal; os.kill(os.getppid(), signal.SIGKILL)"]


@pytest.fixture
def db_site(site, database, monkeypatch):
    server, url = database
    monkeypatch.setenv("SAMPLEAPP_DATABASE_URL", url)  # the sample app's servers inherit it
    configure(site, url)
    site.extra.update(pg=server, url=url)
    return site


@pytest.fixture
def released(db_site):
    """Release 1.0.0 (creates `people`), a row written by it, then release 2.0.0 (adds full_name)."""
    site = db_site
    site.release("1.0.0")
    assert call(site, "POST", "/people?name=Ada+Lovelace")[0] == 201
    site.release("2.0.0")
    return site


def call(site, method: str, path: str, color: str | None = None) -> tuple[int, dict | str]:
    """(status, JSON or text) of a request through the first Varnish, previewing `color`."""
    answer = http.request(site.varnishes[0].http, method, path, 10,
                            {"X-Bluegreen-Color": color} if color else {})
    try:
        return answer.status, json.loads(answer.body)
    except ValueError:
        return answer.status, answer.body


class Load:
    """wrk through Varnish (reads, or writes with POST) for as long as the block runs."""

    def __init__(self, site, path: str, post: bool = False):
        front = site.varnishes[0].http
        argv = ["wrk", "-t1", "-c4", "-d300s", "--timeout", "5s"]
        if post:
            script = site.root / "post.lua"
            script.write_text('wrk.method = "POST"\n')
            argv += ["-s", str(script)]
        self.argv = [*argv, f"http://{front}{path}"]
        self.result: dict = {}

    def __enter__(self) -> Load:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)  # wrk prints its figures on SIGINT
        text, _ = self.proc.communicate(timeout=30)
        requests = re.search(r"(\d+) requests in", text)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        self.result = {"requests": int(requests.group(1)) if requests else 0,
                       "non2xx": int(non2xx.group(1)) if non2xx else 0,
                       "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
                       "text": text}

    def assert_no_failures(self) -> None:
        r = self.result
        assert r["requests"] > 0, r["text"]
        assert (r["non2xx"], r["socket_errors"]) == (0, 0), r["text"]


class TestExpand:
    """Expand runs in deploy, before the passive color changes; it may only add."""

    def test_v1_then_v2_under_load_both_work_on_the_expanded_schema_and_roll_back(self, db_site):
        site = db_site
        site.release("1.0.0")
        assert call(site, "POST", "/people?name=Ada+Lovelace")[0] == 201
        with Load(site, "/people") as reads, Load(site, "/people?name=Load", post=True) as writes:
            site.release("2.0.0")
        reads.assert_no_failures()
        writes.assert_no_failures()
        assert site.served() == ("green", "2.0.0")
        assert site.extra["pg"].columns(site.extra["url"], "people") == ["full_name", "id", "name"]
        # both releases read and write on the expanded schema, and see each other's rows
        assert call(site, "POST", "/people?name=Grace+Hopper", color="blue")[0] == 201
        assert call(site, "POST", "/people?name=Alan+Turing", color="green")[0] == 201
        for color, release in (("blue", "1.0.0"), ("green", "2.0.0")):
            status, body = call(site, "GET", "/people", color=color)
            assert status == 200 and body["release"] == release
            assert {"Ada Lovelace", "Grace Hopper", "Alan Turing"} <= set(body["people"])
        state = site.state()
        assert [(m["phase"], m["release"]) for m in state["migrations"]] == \
            [("expand", "1.0.0"), ("expand", "2.0.0")]
        with Load(site, "/people") as reads, Load(site, "/people?name=Back", post=True) as writes:
            site.ok("rollback", "--stage", "test")
        reads.assert_no_failures()
        writes.assert_no_failures()
        assert site.served() == ("blue", "1.0.0")
        status, body = call(site, "GET", "/people")
        assert status == 200 and body["release"] == "1.0.0", (status, body, site.varnish_errors())

    def test_expand_runs_once_per_release_and_stage(self, released):
        site = released
        site.ok("passive", "--stage", "test")
        run = site.ok("deploy", "--stage", "test", "--version", "2.0.0-hotfix")
        assert "schema expand 2.0.0-hotfix" in run.err
        run = site.ok("deploy", "--stage", "test", "--version", "2.0.0-hotfix")
        assert "already ran in this plan" in run.err

    def test_releasing_again_after_a_rollback_finds_the_expand_in_the_record(self, released):
        site = released
        site.ok("rollback", "--stage", "test")
        site.ok("passive", "--stage", "test")
        run = site.ok("deploy", "--stage", "test", "--version", "2.0.0")
        assert "schema expand 2.0.0: already recorded for stage test; skipped" in run.err

    def test_an_expand_that_drops_a_column_is_refused_before_the_switch(self, db_site):
        site = db_site
        site.release("1.0.0")
        configure(site, site.extra["url"], expand=[*DROP_NAME, site.extra["url"]])
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "2.0.0")
        assert run.code == 1, run.text
        assert "column people.name was dropped or renamed" in run.err
        assert "nothing was deployed" in run.err
        assert not answers(site.green[0]), "nothing was deployed onto green"
        assert site.actives() == before and site.served() == ("blue", "1.0.0")
        run = site.cli("deploy", "--stage", "test", "--version", "2.0.0")  # the refusal sticks
        assert run.code == 1 and "people.name" in run.err
        assert site.cli("switch", "--stage", "test").code == 1
        assert site.actives() == before

    def test_an_expand_that_fails_deploys_nothing_and_shows_its_output(self, db_site):
        site = db_site
        site.release("1.0.0")
        failing = [sys.executable, "-c", "print('ERROR: relation people is locked'); raise SystemExit(5)"]
        configure(site, site.extra["url"], expand=failing)
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "2.0.0")
        assert run.code == 3, run.text
        assert "schema.expand for 2.0.0 failed (exit 5" in run.err
        assert "ERROR: relation people is locked" in run.err
        assert not answers(site.green[0]) and site.actives() == before
        assert "Traceback" not in run.text


class TestRetire:
    """retire: after the window, stop the previous color, then contract; each part converges."""

    def test_retire_inside_the_window_is_refused(self, released):
        site = released
        run = site.cli("retire", "--stage", "test")
        assert run.code == 1, run.text
        assert "inside the rollback window" in run.err and "--now" in run.err
        assert answers(site.blue[0])
        assert "name" in site.extra["pg"].columns(site.extra["url"], "people")
        assert site.state()["colors"]["blue"]["readiness"] == "hot"

    def test_retire_refused_while_an_instance_serves_another_vcl(self, released):
        site = released
        live = site.actives()[0]
        with site.varnish.connect() as admin:
            admin.vcl_use("boot")
        try:
            run = site.cli("retire", "--stage", "test", "--now")
            assert run.code == 1, run.text
            assert "not every Varnish instance serves the live VCL" in run.err
            assert answers(site.blue[0])
        finally:
            with site.varnish.connect() as admin:
                admin.vcl_use(live)

    def test_retire_now_stops_contracts_and_then_rollback_refuses(self, released):
        site = released
        run = site.ok("retire", "--stage", "test", "--now")
        assert run.out.strip() == "contracted"
        assert not answers(site.blue[0]), "blue's servers were stopped"
        assert site.extra["pg"].columns(site.extra["url"], "people") == ["full_name", "id"]
        state = site.state()
        assert state["colors"]["blue"]["readiness"] == "contracted"
        contract = state["migrations"][-1]
        assert (contract["phase"], contract["release"]) == ("contract", "2.0.0")
        status, body = call(site, "GET", "/people")  # the live release works after the contraction
        assert status == 200 and "Ada Lovelace" in body["people"]
        assert call(site, "POST", "/people?name=Edsger+Dijkstra")[0] == 201
        before = site.actives()
        run = site.cli("rollback", "--stage", "test")
        assert run.code == 1, run.text
        assert f"contracted for release 2.0.0 at {contract['at']}" in run.err
        assert "roll forward" in run.err
        assert site.actives() == before and site.served() == ("green", "2.0.0")
        status = site.cli("status", "--stage", "test")
        assert "blue contracted" in status.out and "roll forward" in status.out
        report = (site.out / "test" / "report.html").read_text()
        assert "Readiness and the schema" in report and "contracted" in report
        assert "refused</span>: cannot roll back to blue 1.0.0" in report
        summary = (site.out / "test" / "summary.txt").read_text()
        assert "no rollback (blue contracted: roll forward)" in summary
        assert site.ok("retire", "--stage", "test").out.strip() == "contracted"  # nothing to do

    def test_rollback_of_a_retired_color_redeploys_verifies_and_switches(self, db_site):
        site = db_site
        configure(site, site.extra["url"], contract=None)
        site.release("1.0.0")
        site.release("2.0.0")
        assert site.ok("retire", "--stage", "test", "--now").out.strip() == "retired"
        assert not answers(site.blue[0])
        assert "rollback: by redeploy to blue 1.0.0" in site.ok("status", "--stage", "test").out
        with Load(site, "/people") as reads:  # users stay on green until the switch
            run = site.ok("rollback", "--stage", "test")
        reads.assert_no_failures()
        assert "this takes longer" in run.err
        assert run.err.index("this takes longer") < run.err.index("deploy blue 1.0.0")
        assert site.served() == ("blue", "1.0.0")
        state = site.state()
        assert (state["live"], state["colors"]["blue"]["readiness"],
                state["colors"]["green"]["readiness"]) == ("blue", "live", "hot")

    def test_retire_killed_between_the_stop_and_the_contraction_converges(self, released):
        site = released
        configure(site, site.extra["url"], contract=KILL_PARENT)
        proc = subprocess.run([sys.executable, "-m", "bluegreen", "-c", str(site.config), "--out",
                               str(site.out), "retire", "--stage", "test", "--now"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
        assert site.state()["colors"]["blue"]["readiness"] == "retired"
        assert "name" in site.extra["pg"].columns(site.extra["url"], "people")
        configure(site, site.extra["url"])
        run = site.ok("retire", "--stage", "test", "--now")
        assert "stopping" not in run.err, "a retired color is not stopped again"
        assert site.state()["colors"]["blue"]["readiness"] == "contracted"
        assert site.extra["pg"].columns(site.extra["url"], "people") == ["full_name", "id"]

    def test_a_failing_contract_exits_3_stays_retired_and_a_rerun_contracts(self, released):
        site = released
        failing = [sys.executable, "-c", "print('ERROR: lock timeout on people'); raise SystemExit(1)"]
        configure(site, site.extra["url"], contract=failing)
        run = site.cli("retire", "--stage", "test", "--now")
        assert run.code == 3, run.text
        assert "ERROR: lock timeout on people" in run.err and "recorded as started" in run.err
        state = site.state()
        assert state["colors"]["blue"]["readiness"] == "retired"
        assert [(m["phase"], m.get("finished", True)) for m in state["migrations"]] == [
            ("expand", True), ("expand", True), ("contract", False)]
        refused = site.cli("rollback", "--stage", "test")
        assert refused.code == 1 and "started at" in refused.err and "did not finish" in refused.err
        configure(site, site.extra["url"])
        site.ok("retire", "--stage", "test", "--now")
        assert site.state()["colors"]["blue"]["readiness"] == "contracted"
        assert site.extra["pg"].columns(site.extra["url"], "people") == ["full_name", "id"]


@pytest.fixture
def sqlite_site(site, monkeypatch):
    """The sample app on SQLite (the embedded default): no PostgreSQL needed."""
    url = f"sqlite:///{site.root / 'shop.db'}"
    monkeypatch.setenv("SAMPLEAPP_DATABASE_URL", url)
    configure(site, url)
    site.extra.update(url=url)
    return site


class TestBadInputAndFailures:
    """Every bad input and failed dependency: its message, its exit code, nothing live changed."""

    def test_sqlite_catalogue_names_a_dropped_column(self, sqlite_site):
        site = sqlite_site
        site.release("1.0.0")
        path = site.extra["url"][len("sqlite:///"):]
        drop = [sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1])"
                ".execute('alter table people drop column name')", path]
        configure(site, site.extra["url"], expand=drop)
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "2.0.0")
        assert run.code == 1 and "column people.name was dropped or renamed" in run.err, run.text
        assert site.actives() == before and not answers(site.green[0])

    def test_a_refused_expand_is_not_forgotten_by_a_new_plan_of_the_same_release(self, sqlite_site):
        """Issue 20: a rebuild plans the release again; its expand finds nothing more to drop, so
        deploy and verify pass, but the catalogue no longer holds what the live release went live
        with: switch refuses, whatever this plan says of its expand."""
        site = sqlite_site
        site.release("1.0.0")
        assert "name" in site.state()["catalogue"]["people"]
        path = site.extra["url"][len("sqlite:///"):]
        drop = [sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1])"
                ".execute('alter table people drop column name')", path]
        configure(site, site.extra["url"], expand=drop)
        site.ok("passive", "--stage", "test")
        assert site.cli("deploy", "--stage", "test", "--version", "2.0.0").code == 1
        configure(site, site.extra["url"], expand=[sys.executable, "-c", "pass"])
        for argv in (["passive"], ["deploy", "--version", "2.0.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1, run.text
        assert "no longer holds what the live release 1.0.0 went live with" in run.err
        assert "column people.name was dropped or renamed" in run.err
        assert site.actives() == before and site.served() == ("blue", "1.0.0")

    def test_an_inspect_command_that_prints_garbage_is_exit_3(self, sqlite_site):
        site = sqlite_site
        site.release("1.0.0")
        text = site.config.read_text().replace(
            "[schema]\n", f'[schema]\ninspect = ["{sys.executable}", "-c", "print(42)"]\n')
        site.config.write_text(text)
        site.ok("passive", "--stage", "test")
        run = site.cli("deploy", "--stage", "test", "--version", "2.0.0")
        assert run.code == 3 and "did not print a catalogue as JSON" in run.err, run.text
        assert not answers(site.green[0])

    def test_a_database_url_of_another_kind_is_a_config_error(self, site):
        site.write_config()
        with site.config.open("a") as fh:
            fh.write('\n[schema]\nexpand = ["true"]\ndatabase = "mysql://db/shop"\n')
        run = site.cli("passive", "--stage", "test")
        assert run.code == 2 and "schema.database: should be a sqlite:///PATH" in run.err, run.text

    def test_retire_without_a_retire_command_is_a_config_error(self, site):
        site.release("1.0.0")
        run = site.cli("retire", "--stage", "test", "--now")
        assert run.code == 2 and "retire.command: is required" in run.err, run.text

    def test_retire_with_nothing_before_it(self, sqlite_site):
        site = sqlite_site
        site.release("1.0.0")
        run = site.cli("retire", "--stage", "test", "--now")
        assert run.code == 1 and "no previous color is recorded" in run.err, run.text

    def test_a_failing_retire_command_is_exit_3_fenced_and_a_rollback_redeploys(self, sqlite_site):
        site = sqlite_site
        site.release("1.0.0")
        site.release("2.0.0")
        text = site.config.read_text().replace(
            json.dumps(STOP), json.dumps([sys.executable, "-c", "raise SystemExit('no ssh to {host}')"]))
        site.config.write_text(text)
        before = site.actives()
        run = site.cli("retire", "--stage", "test", "--now")
        assert run.code == 3 and "no ssh to 127.0.0.1" in run.err, run.text
        assert site.state()["colors"]["blue"]["readiness"] == "retired", "fenced before any stop"
        assert answers(site.blue[0]) and site.actives() == before
        rolled = site.ok("rollback", "--stage", "test")
        assert rolled.out.strip() == "blue" and "takes longer" in rolled.err


class TestWorkedExample:
    """examples/schema/walkthrough.py runs as shipped (on SQLite) and every step holds."""

    def test_walkthrough(self):
        script = str(ROOT / "examples" / "schema" / "walkthrough.py")
        env = {k: v for k, v in os.environ.items() if k not in ("JENKINS_URL", "BUILD_NUMBER")}
        proc = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300,
                              env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "every step did what it should" in proc.stdout

    def test_a_retire_command_that_leaves_servers_answering_is_exit_3(self, sqlite_site):
        site = sqlite_site
        site.release("1.0.0")
        site.release("2.0.0")
        configure(site, site.extra["url"], wait_s=2)
        text = site.config.read_text().replace(json.dumps(STOP), json.dumps([sys.executable, "-c", "pass"]))
        site.config.write_text(text)
        run = site.cli("retire", "--stage", "test", "--now")
        assert run.code == 3 and f"{site.blue[0]} still answer(s) /health" in run.err, run.text
        state = site.state()
        assert state["colors"]["blue"]["readiness"] == "retired"
        assert [m["phase"] for m in state["migrations"]] == ["expand", "expand"], "no contraction"
