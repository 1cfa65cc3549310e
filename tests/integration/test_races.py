"""Two pipelines without the Jenkins lock (two output folders), racing for one stage: one wins,
the other refuses (exit 1) and says why; nothing is left half switched; no record claims what
Varnish does not serve."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture
def two_runs(fleet_site):
    """blue 1.0.0 live; runs A and B have each planned, deployed and verified green with a VCL
    of their own (their configurations differ in preview_from)."""
    site = fleet_site
    site.release("1.0.0")
    outs = {"A": site.root / "run-a", "B": site.root / "run-b"}
    configs = {"A": site.config, "B": site.root / "b.toml"}
    site.write_config(path=configs["B"], vcl='preview_from = ["127.0.0.1", "127.0.0.2"]\n')
    for name in ("A", "B"):
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
            site.ok(*argv, "--stage", "test", out=outs[name], config=configs[name])
    vcls = {n: json.loads((outs[n] / "test" / "plan.json").read_text())["vcl"]["green"] for n in outs}
    assert vcls["A"] != vcls["B"]
    return site, outs, configs, vcls


def check_outcome(site, outs, configs, codes: dict, texts: dict, overlapping: bool = False) -> None:
    """Never half switched, and no record claims what Varnish does not serve. One after the
    other, the second refuses. Overlapping without a shared lock, Varnish has no compare-and-swap
    of its own: a run may move right after the other's read-back, and then both report a switch;
    the earlier one's `record` refuses (what it switched to is not live): the stage lock and the
    record's generation are what order two pipelines (docs/jenkins.md)."""
    for name, code in codes.items():
        if code:
            assert "another pipeline got there first" in texts[name] or "lost a race" in texts[name], texts
    assert sorted(codes.values()) in (([0, 0], [0, 1], [1, 1]) if overlapping else ([0, 1], [1, 1])), \
        (codes, texts)
    assert len(set(site.actives())) == 1, "never half switched"
    recorded = []
    for name in outs:
        run = site.cli("record", "--stage", "test", out=outs[name], config=configs[name])
        state = json.loads((outs[name] / "test" / "state.json").read_text()) if run.code == 0 else None
        if state and state["colors"]["green"]["vcl"] == site.actives()[0]:
            recorded.append(name)
        else:
            assert run.code == 1, run.text  # a record that would not be the truth is refused
    winners = [n for n, c in codes.items() if c == 0]
    assert len(recorded) == (1 if winners else 0) and set(recorded) <= set(winners), (recorded, codes)


class TestRaces:
    """In each order, and overlapping."""

    @pytest.mark.parametrize("first", ["A", "B"])
    def test_one_after_the_other(self, two_runs, first):
        site, outs, configs, vcls = two_runs
        second = "B" if first == "A" else "A"
        codes, texts = {}, {}
        for name in (first, second):
            run = site.cli("switch", "--stage", "test", out=outs[name], config=configs[name])
            codes[name], texts[name] = run.code, run.text
        assert codes[first] == 0 and site.actives() == [vcls[first]] * 3
        check_outcome(site, outs, configs, codes, texts)

    def test_overlapping(self, two_runs):
        site, outs, configs, vcls = two_runs
        procs = {}
        for name in ("A", "B"):
            config = configs[name]
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "bluegreen", "-c", str(config), "--out", str(outs[name]),
                 "switch", "--stage", "test"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, start_new_session=True)
        codes, texts = {}, {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            codes[name], texts[name] = proc.returncode, out + err
        check_outcome(site, outs, configs, codes, texts, overlapping=True)
