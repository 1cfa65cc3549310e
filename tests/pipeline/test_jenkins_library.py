"""The shared library and Jenkinsfile stay in step with the bluegreen they drive."""

from __future__ import annotations

import re

import bluegreen
from bluegreen.cli import STEPS
from tests.helpers.paths import ROOT

LIBRARY = (ROOT / "vars" / "blueGreen.groovy").read_text()
HELP = (ROOT / "vars" / "blueGreen.txt").read_text()
JENKINSFILE = (ROOT / "Jenkinsfile").read_text()


class TestInStep:
    """Versions, steps and settings that two files must agree on."""

    def test_the_library_is_written_for_this_bluegreen(self):
        declared = re.search(r"static final String VERSION = '([^']+)'", LIBRARY).group(1)
        assert declared == bluegreen.__version__

    def test_every_step_the_library_runs_exists(self):
        needs = re.search(r"NEEDS = \[(.*?)\n\]", LIBRARY, re.S).group(1)
        steps = set(re.findall(r"^\s+(\w+):", needs, re.M))
        assert steps <= set(STEPS)
        local_only = {"release", "demo", "vcl-snippet"}  # one-go, the demo, a snippet for your own VCL
        assert set(STEPS) - local_only <= steps, "a step Jenkins cannot run"

    def test_every_public_method_has_help(self):
        methods = re.findall(r"^(?:String|void|Map) (\w+)\(", LIBRARY, re.M)
        assert {"adopt", "reconcile", "retire", "compare", "watch", "rollback"} <= set(methods)
        for method in methods:
            assert f"blueGreen.{method}(" in HELP, method

    def test_the_walk_back_is_as_long_as_artifacts_are_kept(self):
        kept = re.search(r"artifactNumToKeepStr: '(\d+)'", JENKINSFILE).group(1)
        walked = re.search(r"BLUEGREEN_JENKINS_BUILDS = '(\d+)'", JENKINSFILE).group(1)
        assert kept == walked

    def test_every_incident_action_is_in_the_jenkinsfile(self):
        actions = re.search(r"name: 'ACTION', choices: \[([^\]]*)\]", JENKINSFILE).group(1)
        for action in ("release", "rollback", "adopt", "reconcile", "retire"):
            assert f"'{action}'" in actions
            assert action == "release" or f"blueGreen.{action}(" in JENKINSFILE
