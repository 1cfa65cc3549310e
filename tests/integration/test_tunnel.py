"""The admin connection through admin_command: real ssh -W through a real sshd to a real varnishd."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

from bluegreen.demo.local import wait_for
from bluegreen.varnish import tunnel
from bluegreen.varnish.admin import VarnishAdmin
from tests.helpers import ports
from tests.helpers.sshd import LocalSshd, group_members

# Records how it was started (pid = its process group, argv, environment), then becomes the
# command it was given: so the tests see exactly what ssh got, and ssh is still the real one.
RECORDER = """
import json, os, sys
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"pid": os.getpid(), "argv": sys.argv, "env": dict(os.environ)}) + "\\n")
os.execvp(sys.argv[2], sys.argv[2:])
"""

# Never says a word: a tunnel that connected to nothing. It leaves a child in its group.
HANGER = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(300)
"""

# Carries Varnish's greeting (its whole first reply), then drops the connection saying why on
# stderr, as ssh does when the network goes.
DROPPER = """
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = socket.create_connection((host, int(port)))
data = b""
while len(data) < 13 or len(data) < 13 + int(data[4:12]) + 1:
    data += conn.recv(4096)
sys.stdout.buffer.write(data)
sys.stdout.flush()
sys.stderr.write("client_loop: send disconnect: Broken pipe\\n")
sys.exit(255)
"""


@pytest.fixture
def sshd(workdir):
    server = LocalSshd(workdir).start()
    yield server
    server.stop()


def recorded(site, argv: list[str]) -> list[str]:
    script = site.root / "recorder.py"
    script.write_text(RECORDER)
    return [sys.executable, str(script), str(site.root / "started.jsonl"), *argv]


def starts(site) -> list[dict]:
    path = site.root / "started.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def through(site, argv: list[str]) -> None:
    """The site's configuration with stages.test.admin_command = argv."""
    site.write_config()
    with site.config.open("a") as fh:
        fh.write(f"admin_command = {json.dumps(argv)}\n")


def assert_all_ended(pids) -> None:
    """Every command's process group is gone: no tunnel outlives its connection."""
    for pid in pids:
        wait_for(lambda p=pid: not group_members(p), 5, f"process group {pid} to be gone")


class TestReleaseThroughSsh:
    """A whole release, a second one and a rollback, every admin connection through ssh -W."""

    def test_release_and_rollback_on_three_instances(self, fleet_site, sshd, monkeypatch):
        site = fleet_site
        monkeypatch.setenv("BLUEGREEN_SECRET_FILE", str(site.varnish.secret_path))
        through(site, recorded(site, sshd.ssh()))
        site.release("1.0.0")
        site.release("1.1.0")
        assert site.served() == ("green", "1.1.0")
        assert site.state()["switch"]["instances"] == 3
        site.ok("rollback", "--stage", "test")
        assert [site.served(front=n) for n in range(3)] == [("blue", "1.0.0")] * 3
        started = starts(site)
        assert len(started) >= 3 * 11 and sshd.logins() == len(started)
        secret = site.secret.strip()
        for start in started:
            assert secret not in json.dumps(start)
            assert "BLUEGREEN_SECRET_FILE" not in start["env"]
            assert start["argv"][-3] == "-W" and start["argv"][-2] in {str(v.admin) for v in site.varnishes}
        assert_all_ended(s["pid"] for s in started)

    def test_one_instance_that_cannot_be_reached_closes_the_others(self, fleet_site, sshd):
        site = fleet_site
        site.release("1.0.0")
        through(site, recorded(site, sshd.ssh()))  # every instance's tunnel opens at once
        gone = f"127.0.0.1:{ports.free_port()}"  # nothing listens there
        site.config.write_text(site.config.read_text().replace(str(site.varnishes[2].admin), gone, 1))
        run = site.cli("passive", "--stage", "test")
        assert run.code == 3, run.text
        assert f"Varnish admin at {gone}: admin_command of stage test" in run.err
        assert "Traceback" not in run.text
        started = starts(site)
        assert len(started) == 3, "one tunnel per instance, all started"
        assert_all_ended(s["pid"] for s in started)
        assert site.served() == ("blue", "1.0.0")

    def test_one_admin_connection_opens_and_closes(self, site, sshd):
        connect = tunnel.connector(tuple(recorded(site, sshd.ssh())), "admin_command of stage test")
        admin = VarnishAdmin(site.varnish.admin, site.varnish.secret_path.read_bytes(), connect=connect)
        with admin:
            assert admin.version is not None and admin.active_vcl()
            (pid,) = [s["pid"] for s in starts(site)]
            assert group_members(pid), "the tunnel runs while the connection is open"
        assert_all_ended([pid])


class TestFailures:
    """A tunnel that cannot start, is refused, or stays silent: exit 3, a clear line, nothing left."""

    def test_a_refused_key_fails_the_switch_and_nothing_changes(self, site, sshd):
        site.release("1.0.0")
        for argv in (["passive"], ["deploy", "--version", "1.1.0"], ["verify"]):
            site.ok(*argv, "--stage", "test")
        through(site, recorded(site, sshd.ssh(key="stranger_key")))
        run = site.cli("switch", "--stage", "test")
        assert run.code == 3, run.text
        assert f"Varnish admin at {site.varnish.admin}: admin_command of stage test" in run.err
        assert "ended (exit 255: " in run.err and "Permission denied (publickey)" in run.err
        assert "Traceback" not in run.text
        assert site.served() == ("blue", "1.0.0")
        assert_all_ended(s["pid"] for s in starts(site))

    def test_a_missing_program(self, site):
        through(site, ["/nonexistent/admin-tunnel", "{host}", "{port}"])
        run = site.cli("passive", "--stage", "test")
        assert run.code == 3, run.text
        assert ("admin_command of stage test could not start (could not run /nonexistent/admin-tunnel: "
                "No such file or directory)") in run.err
        assert "Traceback" not in run.text

    def test_a_silent_command_is_ended_with_its_group(self, site):
        script = site.root / "hanger.py"
        script.write_text(HANGER)
        through(site, [sys.executable, str(script), str(site.root / "hanger.pid"), "{host}:{port}"])
        start = time.monotonic()
        run = site.cli("passive", "--stage", "test")
        assert run.code == 3, run.text
        assert time.monotonic() - start < 30
        assert "nothing came through within 5 s, Varnish never greeted (the command was ended)" in run.err
        assert_all_ended([int((site.root / "hanger.pid").read_text())])

    def test_a_tunnel_that_drops_says_what_it_said(self, site):
        script = site.root / "dropper.py"
        script.write_text(DROPPER)
        through(site, [sys.executable, str(script), "{host}:{port}"])
        run = site.cli("passive", "--stage", "test")
        assert run.code == 3, run.text
        # the admin client sees a reset, a broken pipe or a closed connection, whichever comes first
        assert re.search(rf"Varnish admin at {site.varnish.admin}[:a-z ()A-Z]+ \(the admin_command "
                         r"(exit 255|still running): client_loop: send disconnect: Broken pipe\)",
                         run.err), run.err

    @pytest.mark.parametrize("value, message", [
        ('"ssh -W {host}:{port} web1"', "stages.test.admin_command: should be a list of non-empty "
                                        'strings (an argv, no shell), e.g. admin_command = ["ssh", "-W"'),
        ('["ssh", "-W", "{hots}:{port}"]', "stages.test.admin_command: unknown placeholder {hots}; "
                                            "use {host}, {port}, e.g. admin_command = "),
        ("[]", "stages.test.admin_command: should be a non-empty argv list, e.g. admin_command = "),
    ])
    def test_a_wrong_value_is_a_configuration_error(self, site, value, message):
        site.write_config()
        with site.config.open("a") as fh:
            fh.write(f"admin_command = {value}\n")
        run = site.cli("passive", "--stage", "test")
        assert run.code == 2, run.text
        assert message in run.err
