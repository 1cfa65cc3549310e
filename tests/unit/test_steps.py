"""The steps' logic through `bluegreen.cli.main`, against fakes: FakeAdmin instances (an in-memory
varnishd each), FakeApp servers and a deploy command that only sets their release. Each case
checks the exit code, the message, and what changed on Varnish (or that nothing did).

The same steps against a real varnishd and the sample app: tests/integration/."""

from __future__ import annotations

import json

from tests.helpers.stages import stage_next


def step(stage, *argv: str, **kw):
    return stage.cli(*argv, "--stage", "test", **kw)


class TestPassive:
    """passive plans from what Varnish serves and what is recorded, and changes nothing."""

    def test_first_release_plans_blue(self, stage):
        run = stage.ok("passive", "--stage", "test")
        assert run.out.strip() == "blue"
        assert "nothing of ours is live yet (first release); passive is blue" in run.err
        plan = stage.plan()
        assert (plan["passive"], plan["live"]) == ("blue", None)
        assert plan["expected"] == {str(stage.admins[0].address): "boot"}
        assert stage.admins[0].changes() == [] and stage.actives() == ["boot"]

    def test_live_green_makes_blue_passive(self, stage):
        stage.release("1.0.0")
        stage.release("1.1.0")
        mark = stage.mark()
        run = stage.ok("passive", "--stage", "test")
        assert run.out.strip() == "blue"
        assert "test: green is live on 1 Varnish instance(s); passive is blue" in run.err
        assert stage.plan()["live"] == "green"
        assert stage.changes_since(mark) == []

    def test_drift_is_refused(self, stage):
        stage.release("1.0.0")
        stage.release("1.1.0")
        stage.admins[0].active = stage.state()["colors"]["blue"]["vcl"]  # switched by hand
        mark = stage.mark()
        run = step(stage, "passive")
        assert run.code == 1
        assert "blue is live on Varnish but the local record says green" in run.err
        assert "'adopt --stage test --reason ...'" in run.err and "'reconcile --stage test'" in run.err
        assert stage.changes_since(mark) == []


class TestDeploy:
    """deploy loads both VCLs and deploys the passive color, unless the plan no longer holds."""

    def test_loads_both_vcls_and_deploys_only_the_passive_color(self, stage):
        stage.ok("passive", "--stage", "test")
        run = stage.ok("deploy", "--stage", "test", "--version", "1.0.0")
        assert run.out.strip() == "blue"
        vcl = stage.plan()["vcl"]
        loaded = {e["name"]: e for e in stage.admins[0].entries()}
        for color in ("blue", "green"):
            assert vcl[color].startswith(f"shop_test_{color}_")
            assert (loaded[vcl[color]]["status"], loaded[vcl[color]]["temperature"]) == ("available", "warm")
        assert stage.actives() == ["boot"], "deploy never changes what is live"
        assert not [c for c in stage.admins[0].commands if c.startswith("vcl.use")]
        assert (stage.blue[0].release, stage.green[0].release) == ("1.0.0", None)
        assert stage.deployed() == [f"{stage.blue[0].address} 1.0.0"]
        assert stage.admins[0].bans == ["obj.http.X-Bluegreen-Obj-Color == blue && "
                                        "obj.http.X-Bluegreen-Obj-Site == shop/test"]

    def test_skips_a_server_already_on_the_release(self, stage):
        stage.blue[0].release = "1.0.0"  # deployed by hand already
        stage.ok("passive", "--stage", "test")
        run = stage.ok("deploy", "--stage", "test", "--version", "1.0.0")
        assert "deploy blue 1.0.0: 1/1 servers done" in run.err and "1 skipped (already on 1.0.0)" in run.err
        assert stage.deployed() == [], "the deploy command never ran"
        assert stage.plan()["deploy"] == [{"server": str(stage.blue[0].address), "ok": True,
                                           "detail": "skipped (already on 1.0.0)"}]

    def test_refused_when_the_passive_color_went_live(self, stage):
        stage.release("1.0.0")
        stage.ok("passive", "--stage", "test")  # plans green
        stage.admins[0].active = stage.vcl("green")  # another run made green live meanwhile
        mark = stage.mark()
        run = step(stage, "deploy", "--version", "1.1.0")
        assert run.code == 1
        assert f"green is live on {stage.admins[0].address}, and this plan would change it" in run.err
        assert "run 'passive --stage test' to plan again" in run.err
        assert stage.changes_since(mark) == [] and stage.green[0].release is None
        assert stage.deployed() == [f"{stage.blue[0].address} 1.0.0"], "green was not deployed"

    def test_a_failed_deploy_command_is_named_and_nothing_live_changes(self, stage):
        stage.ok("passive", "--stage", "test")
        run = step(stage, "deploy", "--version", "1.0.0-undeployable")
        assert run.code == 3
        server = stage.blue[0].address
        assert f"deploy blue 1.0.0-undeployable failed on 1 of 1 server(s): {server}" in run.err
        assert "nothing live changed" in run.err and stage.actives() == ["boot"]


class TestVerify:
    """verify checks each server and Varnish's probes; a failure is exit 1 with every check."""

    def test_a_server_on_another_release_fails_with_the_checks_as_json(self, stage):
        stage.ok("passive", "--stage", "test")
        stage.ok("deploy", "--stage", "test", "--version", "1.0.0")
        stage.blue[0].release = "0.9.0"  # changed by hand since the deploy
        mark = stage.mark()
        run = stage.cli("--json", "verify", "--stage", "test")
        assert run.code == 1
        assert "bluegreen: verify test blue 1.0.0: 1 of 3 checks failed; first: " \
               f"{stage.blue[0].address} release: GET /version: expected 1.0.0, got 0.9.0" in run.err
        document = json.loads(run.out)
        assert (document["ok"], document["exit"], document["passed"]) == (False, 1, False)
        checks = {c["name"]: c["ok"] for c in document["checks"]}
        assert checks == {f"{stage.blue[0].address} health": True, f"{stage.blue[0].address} release": False,
                          f"varnish {stage.admins[0].address} probe blue": True}
        assert stage.plan()["verify_failed"]["failed"] == [f"{stage.blue[0].address} release"]
        assert stage.changes_since(mark) == [] and stage.actives() == ["boot"]

    def test_sick_probes_fail(self, stage):
        stage.ok("passive", "--stage", "test")
        stage.ok("deploy", "--stage", "test", "--version", "1.0.0")
        stage.admins[0].health[str(stage.blue[0].address)] = "sick"
        run = step(stage, "verify")
        assert run.code == 1 and f"varnish {stage.admins[0].address} probe blue" in run.err
        assert "Varnish's probes: expected blue healthy" in run.err


class TestSwitch:
    """switch moves every instance at once, only after a passed verify, and undoes a partial move."""

    def test_refused_when_an_instance_moved_since_the_plan(self, fleet_stage):
        stage = fleet_stage
        stage_next(stage)
        blue = stage.vcl("blue")
        stage.admins[1].active = "boot"  # restarted, or another run's vcl.use
        mark = stage.mark()
        run = step(stage, "switch")
        assert run.code == 1
        assert f"{stage.admins[1].address} serves boot (planned from {blue})" in run.err
        assert "run 'passive --stage test' to plan again" in run.err
        assert stage.changes_since(mark) == [] and stage.actives() == [blue, "boot"]

    def test_refused_without_a_passed_verify(self, stage):
        stage.release("1.0.0")
        stage.ok("passive", "--stage", "test")
        stage.ok("deploy", "--stage", "test", "--version", "1.1.0")
        mark = stage.mark()
        run = step(stage, "switch")
        assert run.code == 1
        assert "green 1.1.0 has not passed verify: run 'verify --stage test' before 'switch'" in run.err
        assert stage.changes_since(mark) == [] and stage.actives() == [stage.vcl("blue")]

    def test_forced_is_a_warning_and_recorded(self, stage):
        stage.release("1.0.0")
        stage.ok("passive", "--stage", "test")
        stage.ok("deploy", "--stage", "test", "--version", "1.1.0")
        run = stage.ok("switch", "--stage", "test", "--force")
        assert "WARNING: --force: switching test to green 1.1.0 without a passed verify" in run.err
        assert stage.actives() == [stage.vcl("green")]
        state = stage.state()
        assert (state["live"], state["switch"]["forced"]) == ("green", True)
        assert stage.plan()["switched"]["forced"] is True

    def test_an_instance_that_refuses_vcl_use_has_the_others_switched_back(self, fleet_stage):
        stage = fleet_stage
        stage_next(stage)
        blue, green = stage.vcl("blue"), stage.vcl("green")
        stage.admins[1].on, stage.admins[1].mode = "vcl.use", "refuse"
        mark = stage.mark()
        run = step(stage, "switch")
        assert run.code == 3
        assert f"switch of stage test to {green} failed, reverted: " in run.err
        assert f"{stage.admins[1].address} answered 106 No VCL named that" in run.err
        assert f"{stage.admins[0].address} switched back to {blue}" in run.err
        assert stage.actives() == [blue, blue], "never left half switched"
        assert stage.changes_since(mark) == [f"vcl.use {green}", f"vcl.use {blue}",
                                             f"vcl.use {green}"], "moved and put back; refused"
        assert stage.state()["live"] == "blue", "nothing recorded"


class TestRecord:
    """record writes what Varnish serves, and refuses a record that disagrees with it."""

    def test_drift_is_refused_and_the_state_kept(self, stage):
        stage.release("1.0.0")
        before = stage.state()
        stage.admins[0].active = stage.vcl("green")  # a switch killed before it wrote the state
        mark = stage.mark()
        run = step(stage, "record")
        assert run.code == 1
        assert "Varnish serves green in stage test but" in run.err and "says blue" in run.err
        assert stage.state() == before and stage.changes_since(mark) == []


class TestRollback:
    """rollback needs a previous color, and a second rollback does nothing."""

    def test_nothing_previous(self, stage):
        stage.release("1.0.0")
        mark = stage.mark()
        run = step(stage, "rollback")
        assert run.code == 1
        assert "no previous color is recorded for stage test: nothing to roll back to" in run.err
        assert stage.changes_since(mark) == []

    def test_already_rolled_back(self, stage):
        stage.release("1.0.0")
        stage.release("1.1.0")
        stage.ok("rollback", "--stage", "test")
        assert stage.actives() == [stage.state()["colors"]["blue"]["vcl"]]
        mark = stage.mark()
        run = stage.ok("--json", "rollback", "--stage", "test")
        assert "already rolled back to blue; nothing to do (release again to go forward)" in run.err
        assert json.loads(run.out)["already"] is True
        assert not [c for c in stage.changes_since(mark) if c.startswith("vcl.use")]


class TestStatus:
    """status exits 0 when all agree, 1 on a problem, 3 when a Varnish cannot be asked."""

    def test_all_agree(self, stage):
        stage.release("1.0.0")
        mark = stage.mark()
        run = stage.ok("status", "--stage", "test")
        assert "stage test: recorded live blue" in run.out and "PROBLEM" not in run.out
        assert stage.changes_since(mark) == []

    def test_drift_is_a_problem(self, stage):
        stage.release("1.0.0")
        stage.admins[0].active = stage.vcl("green")
        mark = stage.mark()
        run = step(stage, "status")
        assert run.code == 1
        assert "PROBLEM: drift: Varnish serves green, the record says blue" in run.out
        assert stage.changes_since(mark) == [] and stage.actives() == [stage.vcl("green")]

    def test_an_unreachable_varnish(self, fleet_stage):
        stage = fleet_stage
        stage.release("1.0.0")
        stage.admins[1].close()
        mark = stage.mark()
        run = step(stage, "status")
        assert run.code == 3
        assert stage.changes_since(mark) == []
        assert f"PROBLEM: Varnish admin at {stage.admins[1].address} is not reachable" in run.out
        assert f"blue   {stage.blue[0].address}" in run.out, "the servers are still shown"


class TestAdopt:
    """adopt records what Varnish serves, with the reason, and moves nothing."""

    def test_records_the_served_color(self, stage):
        stage.release("1.0.0")
        stage.admins[0].active = stage.vcl("green")  # a hotfix switched by hand
        mark = stage.mark()
        run = stage.ok("adopt", "--stage", "test", "--reason", "hotfix INC-7")
        assert run.out.strip() == "green"
        assert "adopt test: recorded green as live (was blue): hotfix INC-7" in run.err
        state = stage.state()
        assert state["live"] == "green" and state["history"][-1]["reason"] == "hotfix INC-7"
        assert stage.changes_since(mark) == []
        assert stage.ok("passive", "--stage", "test").out.strip() == "blue"


class TestRetire:
    """retire refuses inside the rollback window unless --now."""

    def test_refused_inside_the_window(self, stage):
        stage.release("1.0.0")
        stage.release("1.1.0")
        stage.write_config(f"\n[retire]\nafter_s = 3600\ncommand = {json.dumps(STOP)}\n")
        before = stage.state()
        mark = stage.mark()
        run = step(stage, "retire")
        assert run.code == 1
        assert "retire test: inside the rollback window: green went live at" in run.err
        assert "retire.after_s is 3600 s" in run.err and "retire later, or with --now" in run.err
        assert stage.state() == before and stage.changes_since(mark) == []
        assert stage.blue[0].release == "1.0.0", "the previous color still runs"


STOP = ["false", "{host}", "{port}", "{color}"]  # never run: the window refuses first
