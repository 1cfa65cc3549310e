"""Refusals and bad input: the message, the exit code, nothing live changed, no secret shown."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from bluegreen.demo import local


def assert_unchanged(site, before, run):
    assert site.actives() == before, "nothing live may change"
    assert site.secret.strip() not in run.text, "the Varnish secret must never be printed"
    assert "Traceback" not in run.text


@pytest.fixture
def live_blue(site):
    """A site where blue 1.0.0 is live, and green is planned as passive."""
    site.release("1.0.0")
    return site


class TestRefusals:
    """Safety checks say no (exit 1) and change nothing live."""

    def test_deploy_refused_when_the_passive_color_went_live_since_passive(self, live_blue):
        site = live_blue
        site.ok("passive", "--stage", "test")  # this run plans: green is passive
        other = site.root / "other-run"
        site.release("1.1.0", out=other)  # but another run put green live meanwhile
        site.ok("passive", "--stage", "test", out=other)
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "1.2.0")
        assert run.code == 1
        assert "green is live on" in run.err and "passive --stage test" in run.err
        assert_unchanged(site, before, run)
        assert site.served() == ("green", "1.1.0"), "nothing was deployed onto the live color"

    def test_switch_before_verify(self, live_blue):
        site = live_blue
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1
        assert "has not passed verify" in run.err
        assert_unchanged(site, before, run)

    def test_switch_after_verify_failed(self, live_blue):
        site = live_blue
        site.write_config(checks="timeout_s = 1\nwait_s = 1.5\n")
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0-broken")
        run = site.cli("verify", "--stage", "test")
        assert run.code == 1
        assert "health" in run.err and "expected 2xx, got HTTP 500" in run.err
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1
        assert "verify failed for green 1.1.0-broken" in run.err
        assert_unchanged(site, before, run)
        assert site.served() == ("blue", "1.0.0")

    def test_switch_refused_when_the_target_changed_release_since_verify(self, live_blue):
        site = live_blue
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")
        site.deploy_by_hand(site.green[0], "1.2.0", "green")  # another deploy, after verify
        before = site.actives()
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1
        assert f"green {site.green[0]} answers 1.2.0, not 1.1.0 that passed verify" in run.err
        assert_unchanged(site, before, run)
        assert site.served() == ("blue", "1.0.0")

    def test_forced_switch_is_loud_and_recorded(self, live_blue):
        site = live_blue
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        run = site.ok("switch", "--stage", "test", "--force")
        assert "WARNING: --force" in run.err
        assert site.state()["switch"]["forced"] is True
        assert site.state()["history"][-1]["forced"] is True

    def test_rollback_refused_when_previous_color_runs_another_release(self, live_blue):
        site = live_blue
        site.release("1.1.0")
        site.deploy_by_hand(site.blue[0], "0.9.9", "blue")
        before = site.actives()
        run = site.cli("rollback", "--stage", "test")
        assert run.code == 1
        assert "runs 0.9.9" in run.err and "expected 1.0.0" in run.err
        assert_unchanged(site, before, run)
        assert site.served() == ("green", "1.1.0")

    def test_rollback_with_nothing_recorded(self, site):
        run = site.cli("rollback", "--stage", "test")
        assert run.code == 1
        assert "nothing to roll back" in run.err

    def test_switch_refused_when_another_pipeline_switched_first(self, live_blue):
        site = live_blue
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        site.ok("verify", "--stage", "test")
        with site.varnish.connect() as admin:  # someone else makes another VCL live
            admin.vcl_use("boot")
        run = site.cli("switch", "--stage", "test")
        assert run.code == 1
        assert "another pipeline got there first" in run.err
        assert site.actives() == ["boot"]

    def test_drift_between_varnish_and_record_is_shown_not_acted_on(self, live_blue):
        site = live_blue
        with site.varnish.connect() as admin:
            green = [e["name"] for e in admin.vcl_list() if "_green_" in e["name"]][0]
            admin.vcl_use(green)
        run = site.cli("passive", "--stage", "test")
        assert run.code == 1
        assert "green is live on Varnish but the local record says blue" in run.err
        run = site.cli("status", "--stage", "test")
        assert run.code == 1 and "drift" in run.out


class TestBadInput:
    """Bad input: a clear one-line error and its documented exit code."""

    def test_missing_config(self, site, tmp_path):
        run = site.cli("passive", "--stage", "test", config=tmp_path / "nope.toml")
        assert run.code == 2
        assert "nope.toml not found" in run.err and "BLUEGREEN_CONFIG" in run.err

    @pytest.mark.parametrize("text, message", [
        ("app = ", "is not valid TOML"),
        ('app = "shop"\n', "deploy.command: is required"),
        ('app = "shop"\n[deploy]\ncommand = ["x"]\n', "stages: should define at least one stage"),
        ('app = "1shop"\n', "app: should start with a letter"),
        ('app = "shop"\n[deploy]\ncommand = "deploy.sh"\n', "deploy.command: should be a list"),
        ('app = "shop"\n[deploy]\ncommand = ["x", "{hots}"]\n', "deploy.command: unknown placeholder {hots}"),
        ('app = "shop"\n[deploy]\ncommand = ["x"]\n[stages.test]\nvarnish = ["nope"]\n'
         'blue = ["a:1"]\ngreen = ["b:1"]\n',
         "stages.test.varnish: 'nope' should be 'host:port'"),
        ('app = "shop"\n[deploy]\ncommand = ["x"]\n[stages.test]\nvarnish = ["a:1"]\n'
         'blue = ["a:2"]\ngreen = ["a:2"]\n',
         "stages.test: blue and green share a server"),
        ('app = "shop"\n[checks]\nwait_s = "long"\n', "checks.wait_s: should be a number"),
        ('app = "shop"\ncolour = 1\n', "colour: unknown key"),
    ])
    def test_malformed_config(self, site, tmp_path, text, message):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        run = site.cli("passive", "--stage", "test", config=path)
        assert run.code == 2
        assert message in run.err
        assert len(run.err.strip().splitlines()) == 1

    def test_unknown_stage(self, site):
        run = site.cli("passive", "--stage", "prod")
        assert run.code == 2
        assert "unknown stage 'prod'" in run.err and "defines test" in run.err

    @pytest.mark.parametrize("version", ["-rf", "1.0 0", "1.0\n0", "", "a\x1bb"])
    def test_bad_release_string(self, live_blue, version):
        site = live_blue
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", f"--version={version}")
        assert run.code == 2
        assert "--version" in run.err
        assert_unchanged(site, before, run)

    def test_wrong_varnish_secret(self, live_blue, tmp_path):
        site = live_blue
        wrong = tmp_path / "wrong-secret"
        wrong.write_text("not-the-secret\n")
        site.monkeypatch.setenv("BLUEGREEN_SECRET_FILE", str(wrong))
        before_secret = site.secret
        run = site.cli("passive", "--stage", "test")
        assert run.code == 2
        assert "rejected the secret" in run.err
        assert "not-the-secret" not in run.text and before_secret.strip() not in run.text
        site.monkeypatch.delenv("BLUEGREEN_SECRET_FILE")
        assert site.served() == ("blue", "1.0.0")

    def test_missing_secret_file(self, site, tmp_path):
        site.monkeypatch.setenv("BLUEGREEN_SECRET_FILE", str(tmp_path / "absent"))
        run = site.cli("passive", "--stage", "test")
        assert run.code == 2 and "secret_file:" in run.err and "not found" in run.err

    def test_varnish_not_listening(self, site):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound but not listening: connections are refused
            site.write_config(stage=f'varnish = ["127.0.0.1:{port}"]\nblue = ["{site.blue[0]}"]\n'
                                    f'green = ["{site.green[0]}"]\n')
            run = site.cli("passive", "--stage", "test")
        assert run.code == 3
        assert f"127.0.0.1:{port} is not reachable" in run.err

    def test_user_vcl_template_that_does_not_compile(self, live_blue):
        site = live_blue
        template = site.root / "site.vcl.j2"
        template.write_text('{% extends "bluegreen.vcl.j2" %}\n'
                            '{% block recv %}    set req.http.x = no_such_thing;\n{% endblock %}\n')
        site.write_config(vcl=f'template = "{template}"\n')
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "1.1.0")
        assert run.code == 2
        assert "could not compile VCL" in run.err and "no_such_thing" in run.err
        assert_unchanged(site, before, run)
        assert site.served() == ("blue", "1.0.0")

    def test_user_vcl_template_blocks_are_used(self, site):
        template = site.root / "site.vcl.j2"
        template.write_text('{% extends "bluegreen.vcl.j2" %}\n'
                            '{% block deliver %}    set resp.http.X-Custom = "mine";\n{% endblock %}\n')
        site.write_config(vcl=f'template = "{template}"\n')
        site.release("1.0.0")
        from bluegreen.checks import http

        answer = http.get(site.varnish.http, "/", 5)
        assert answer.headers["x-custom"] == "mine"
        assert answer.headers["x-bluegreen-color"] == "blue"

    def test_deploy_command_failing_on_one_server(self, live_blue):
        site = live_blue
        wrapper = site.root / "deploy-wrapper.py"
        failing = site.green[1] if len(site.green) > 1 else site.green[0]
        wrapper.write_text(
            "import subprocess, sys\n"
            f"if sys.argv[2] == '{failing.port}':\n"
            "    sys.exit('disk full on ' + sys.argv[1])\n"
            f"deploy = {str(Path(local.SAMPLEAPP) / 'deploy.py')!r}\n"
            "sys.exit(subprocess.call([sys.executable, deploy] + sys.argv[1:]))\n")
        site.write_config(deploy=f'command = ["{sys.executable}", "{wrapper}", "{{host}}", '
                                 '"{port}", "{version}", "{color}"]\n')
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "1.1.0")
        assert run.code == 3
        assert f"{failing}: exit 1: disk full on 127.0.0.1" in run.err
        assert "nothing live changed" in run.err
        assert_unchanged(site, before, run)
        run = site.cli("verify", "--stage", "test")
        assert run.code == 1
        assert site.cli("switch", "--stage", "test").code == 1
        assert site.served() == ("blue", "1.0.0")

    def test_no_secret_in_any_output_file(self, live_blue):
        site = live_blue
        assert site.secret.strip() not in site.outputs_text()

    def test_json_error_document(self, site):
        run = site.cli("--json", "passive", "--stage", "prod")
        assert run.code == 2
        assert '"exit": 2' in run.out and '"ok": false' in run.out


class TestSmokeAndStatus:
    """The optional smoke command, and status when a system is down."""

    def _smoke(self, site, exit_code):
        script = site.root / "smoke.py"
        script.write_text("import sys, urllib.request\n"
                          "body = urllib.request.urlopen(sys.argv[1] + '/version').read().decode()\n"
                          f"print('smoke saw', body.strip()); sys.exit({exit_code})\n")
        site.write_config(checks=f'timeout_s = 2\nwait_s = 8\nsmoke = ["{sys.executable}", '
                                 f'"{script}", "{{url}}"]\n')

    def test_passing_smoke_is_a_test_case(self, site):
        self._smoke(site, 0)
        site.release("1.0.0")
        junit = (site.out / "test" / "junit-verify.xml").read_text()
        assert 'name="smoke"' in junit and "smoke saw 1.0.0" in junit

    def test_failing_smoke_fails_verify_and_blocks_switch(self, live_blue):
        site = live_blue
        self._smoke(site, 4)
        site.ok("passive", "--stage", "test")
        site.ok("deploy", "--stage", "test", "--version", "1.1.0")
        run = site.cli("verify", "--stage", "test")
        assert run.code == 1 and "smoke" in run.err and "exit 4: smoke saw 1.1.0" in run.err
        assert site.cli("switch", "--stage", "test").code == 1
        assert site.served() == ("blue", "1.0.0")

    def test_status_with_varnish_down_is_exit_3(self, live_blue):
        site = live_blue
        site.varnish.stop()
        run = site.cli("status")
        assert run.code == 3
        assert "is not reachable" in run.out


class TestReplays:
    """A restarted or replayed build does not deploy what is already live as a new release."""

    def test_deploy_of_the_live_release_is_refused(self, live_blue):
        site = live_blue
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "1.0.0")
        assert run.code == 1
        assert "1.0.0 is already live on blue in stage test" in run.err and "rollback" in run.err
        assert_unchanged(site, before, run)
        assert site.served() == ("blue", "1.0.0")


class TestDeployTimeout:
    """A deploy command that hangs is stopped with everything it started."""

    def test_timeout_kills_the_command_and_its_children(self, live_blue):
        site = live_blue
        hang = site.root / "hang.py"
        marker = site.root / "grandchild.pid"
        hang.write_text("import subprocess, sys, time\n"
                        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                        f"open({str(marker)!r}, 'w').write(str(c.pid))\ntime.sleep(120)\n")
        site.write_config(deploy=f'command = ["{sys.executable}", "{hang}"]\ntimeout_s = 2\n')
        site.ok("passive", "--stage", "test")
        before = site.actives()
        run = site.cli("deploy", "--stage", "test", "--version", "1.1.0")
        assert run.code == 3
        assert "timed out after 2 s (its process group was killed)" in run.err
        assert_unchanged(site, before, run)
        pid = int(marker.read_text())
        local.wait_for(lambda: not local.alive(pid), 5, "the deploy command's child to be gone")

