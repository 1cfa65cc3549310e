"""Outside commands: no shell, their whole process group killed on timeout, no secrets inherited."""

from __future__ import annotations

import sys
import threading
import time

from bluegreen import commands
from bluegreen.demo import local
from bluegreen.demo.local import wait_for

SPAWNER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""


def spawner(tmp_path):
    script = tmp_path / "spawner.py"
    script.write_text(SPAWNER)
    return [sys.executable, str(script), str(tmp_path / "grandchild.pid")]


class TestRun:
    """What a command answered, and how it ended."""

    def test_exit_code_and_last_line(self, tmp_path):
        done = commands.run([sys.executable, "-c", "print('one'); print('two'); raise SystemExit(4)"],
                            tmp_path, 10)
        assert not done.ok and done.code == 4
        assert done.describe() == "exit 4: two"
        assert done.describe(lines=2) == "exit 4: one\ntwo"

    def test_a_missing_program(self, tmp_path):
        done = commands.run(["./no-such-program"], tmp_path, 10)
        assert not done.ok and done.code is None
        assert done.describe() == "could not run ./no-such-program: No such file or directory"

    def test_placeholders_are_filled_without_a_shell(self):
        assert commands.fill(("x", "{host}:{port}", "$(rm -rf /) {host}", "{other}"),
                             {"host": "h", "port": "1"}) == ["x", "h:1", "$(rm -rf /) h", "{other}"]


class TestTimeout:
    """A timeout kills the command's whole process group, grandchildren too."""

    def test_grandchildren_do_not_outlive_the_timeout(self, tmp_path):
        start = time.monotonic()
        done = commands.run(spawner(tmp_path), tmp_path, 1.0)
        assert not done.ok and "timed out after 1 s" in done.describe()
        assert time.monotonic() - start < 10
        grandchild = int((tmp_path / "grandchild.pid").read_text())
        wait_for(lambda: not local.alive(grandchild), 5, "the grandchild to be gone")

    def test_an_interrupt_kills_every_running_command(self, tmp_path):
        results = []
        thread = threading.Thread(target=lambda: results.append(commands.run(spawner(tmp_path),
                                                                              tmp_path, 60)))
        thread.start()
        pidfile = tmp_path / "grandchild.pid"
        wait_for(lambda: pidfile.exists() and pidfile.read_text(), 10, "the grandchild to start")
        commands.kill_all()
        thread.join(10)
        assert results and not results[0].ok
        wait_for(lambda: not local.alive(int(pidfile.read_text())), 5, "the grandchild to be gone")


class TestEnvironment:
    """The credentials bluegreen holds stay out of commands unless the configuration says so."""

    PRINT_ENV = [sys.executable, "-c", "import os; print(sorted(k for k in os.environ "
                 "if k.startswith(('JENKINS_', 'BLUEGREEN_SECRET'))))"]

    def test_secrets_are_not_inherited(self, tmp_path, monkeypatch):
        for key in commands.SECRET_ENV:
            monkeypatch.setenv(key, "secret-value")
        done = commands.run(self.PRINT_ENV, tmp_path, 10)
        assert done.output.strip() == "[]"

    def test_passed_on_when_configured(self, tmp_path, monkeypatch):
        for key in commands.SECRET_ENV:
            monkeypatch.setenv(key, "secret-value")
        done = commands.run(self.PRINT_ENV, tmp_path, 10, pass_secrets=True)
        assert done.output.strip() == str(sorted(commands.SECRET_ENV))
