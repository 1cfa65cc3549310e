"""The kill matrix: each step SIGKILLed at each point where it changes something, then rerun.

A wrapper (tests/killer/sitecustomize.py) kills the step's process just before its Nth Varnish
command that changes something, or its Nth file replace. Every case must converge: the rerun
succeeds, one color is served on every instance, and status agrees with the record."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.site import make_site, stop_site

KILLER = ROOT / "tests" / "killer"


def killed_run(site, argv: list[str], at: str) -> int:
    env = dict(os.environ, BLUEGREEN_KILL_AT=at,
               PYTHONPATH=os.pathsep.join([str(KILLER), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "bluegreen", "-c", str(site.config), "--out",
                           str(site.out), *argv, "--stage", "test"], env=env, capture_output=True,
                          text=True, timeout=300, start_new_session=True)
    return proc.returncode


def converged(site) -> None:
    assert len(set(site.actives())) == 1, site.actives()
    run = site.cli("status", "--stage", "test")
    assert run.code == 0, run.text


def kill_points(site, prepare, argv, finish):
    """Run prepare(n); kill `argv` at each change and each replace in turn; rerun; finish; check."""
    cases = rounds = 0
    for kind in ("change", "replace"):
        n = 1
        while True:
            rounds += 1
            prepare(rounds)
            code = killed_run(site, argv, f"{kind}:{n}")
            if code != -9:  # the step ran to its end before its nth point: every point is done
                assert code == 0
                finish(rerun=False)
                converged(site)
                break
            finish(rerun=True)
            converged(site)
            cases += 1
            n += 1
    assert cases >= 2


class TestKillMatrix:
    """deploy, switch, rollback, record and reconcile, killed anywhere, converge on a rerun."""

    def test_switch(self, two_site):
        site = two_site
        site.release("1.0.0")

        def prepare(n):
            for argv in (["passive"], ["deploy", "--version", f"2.{n}.0"], ["verify"]):
                site.ok(*argv, "--stage", "test")

        def finish(rerun):
            if rerun:
                site.ok("switch", "--stage", "test")
            site.ok("record", "--stage", "test")

        kill_points(site, prepare, ["switch"], finish)

    def test_deploy(self, two_site):
        site = two_site
        site.release("1.0.0")

        def prepare(n):
            site.ok("passive", "--stage", "test")

        def finish(rerun):
            if rerun:
                site.ok("deploy", "--stage", "test", "--version", "3.0.0")
            site.ok("verify", "--stage", "test")

        kill_points(site, prepare, ["deploy", "--version", "3.0.0"], finish)

    def test_rollback_and_record(self, two_site):
        site = two_site
        site.release("1.0.0")
        state = {"n": 0}

        def prepare(n):
            state["n"] += 1
            site.release(f"4.{state['n']}.0")

        def finish(rerun):
            if rerun:
                site.ok("rollback", "--stage", "test")

        kill_points(site, prepare, ["rollback"], finish)

        def prepare_record(n):
            state["n"] += 1
            for argv in (["passive"], ["deploy", "--version", f"5.{state['n']}.0"], ["verify"], ["switch"]):
                site.ok(*argv, "--stage", "test")

        def finish_record(rerun):
            if rerun:
                site.ok("record", "--stage", "test")

        kill_points(site, prepare_record, ["record"], finish_record)

    def test_reconcile(self, two_site):
        site = two_site
        site.release("1.0.0")
        site.release("1.1.0")

        def prepare(n):
            site.varnishes[1].stop()
            site.varnishes[1].start()

        def finish(rerun):
            if rerun:
                site.ok("reconcile", "--stage", "test")

        kill_points(site, prepare, ["reconcile"], finish)


class TestKillMatrixRetire:
    """retire (fence, stops) and a rollback by redeploy after it, killed anywhere, converge."""

    def test_retire(self, two_site):
        site = retiring(two_site)
        state = {"n": 0}

        def prepare(n):
            state["n"] += 1
            site.release(f"6.{state['n']}.0")  # the previous color hot again

        def finish(rerun):
            if rerun:
                site.ok("retire", "--stage", "test", "--now")
            assert site.state()["colors"][site.state()["previous"]]["readiness"] == "retired"

        kill_points(site, prepare, ["retire", "--now"], finish)

    def test_rollback_by_redeploy(self, two_site):
        site = retiring(two_site)
        state = {"n": 0}

        def prepare(n):
            state["n"] += 1
            site.release(f"7.{state['n']}.0")
            site.ok("retire", "--stage", "test", "--now")

        def finish(rerun):
            if rerun:
                site.ok("rollback", "--stage", "test")
            assert site.state()["history"][-1]["action"] == "rollback"

        kill_points(site, prepare, ["rollback"], finish)


def retiring(site):
    """The site with a retire command (the sample app's stop) and no rollback window."""
    site.release("1.0.0")
    stop = [sys.executable, str(ROOT / "src" / "bluegreen" / "sampleapp" / "stop.py"), "{host}", "{port}"]
    with site.config.open("a") as fh:
        fh.write(f"\n[retire]\nafter_s = 0\ncommand = {json.dumps(stop)}\n")
    return site


@pytest.fixture
def two_site(workdir, capsys, monkeypatch):
    """The stage behind two varnishd instances."""
    s = make_site(workdir, capsys, monkeypatch, instances=2)
    yield s
    stop_site(s)
