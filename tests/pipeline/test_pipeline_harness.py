"""The harness behaves like Jenkins where the shared pipeline depends on it (small Jenkinsfiles,
no Varnish): Declarative's order, locks and executors that queue, reused workspaces, input,
milestones, stashes, JUnit's skipOldReports. Each case names the plugin code it follows."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import bluegreen
from tests.helpers.fake_jenkins import FakeJenkins, Pipeline, User
from tests.helpers.paths import ROOT

USERS = {"alice": User("a", groups=("release-managers",)), "bob": User("b"), "root": User("r", admin=True)}


@pytest.fixture
def jenkins(tmp_path):
    scm = tmp_path / "scm"
    scm.mkdir()
    (scm / "tracked.txt").write_text("from git\n")
    with FakeJenkins(tmp_path / "jenkins", "shop", USERS, executors=2) as j:
        pipeline = Pipeline(j, ROOT / "Jenkinsfile", ROOT / "vars", scm, {"PATH": os.environ["PATH"]}, {})
        j.pipeline = pipeline
        try:
            yield j
        finally:
            pipeline.stop()


def jenkinsfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"Jenkinsfile-{time.monotonic_ns()}"
    path.write_text(text)
    return path


def pending(jenkins, number: int, input_id: str) -> dict:
    return jenkins.wait(lambda: jenkins.pending_input(number, input_id), 60, f"#{number} at {input_id}")


LOCKED_STAGE = """
pipeline {
    agent none
    stages {
        stage('skipped') {
            when { %s expression { false } }
            options { lock(resource: 'r') }
            steps { echo 'never' }
        }
    }
}"""


class TestDeclarativeOrder:
    """ModelInterpreter.evaluateStage: when (beforeOptions) > options > when (beforeAgent) > agent > when."""

    def test_a_skipped_stage_still_takes_its_lock(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, LOCKED_STAGE % ""))
        assert [e["resource"] for e in build.events("lock")] == ["r"]
        assert build.events("stage") == [{"type": "stage", "name": "skipped", "skipped": "when",
                                          "stage": "skipped"}]

    def test_before_options_skips_without_the_lock(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, LOCKED_STAGE % "beforeOptions true;"))
        assert build.events("lock") == [] and build.result == "SUCCESS"

    def test_a_stage_with_an_agent_takes_an_executor_before_its_when(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent none; stages { stage('s') {
                when { expression { false } }; agent any; steps { echo 'never' } } } }"""))
        assert len(build.events("node")) == 1 and build.stages_run() == []

    def test_stage_options_are_evaluated_when_the_build_starts(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent none; environment { APP = 'shop' }; stages { stage('s') {
                options { lock(resource: "bluegreen-${env.APP}") }; steps { echo "app ${env.APP}" } } } }"""))
        assert [e["resource"] for e in build.events("lock")] == ["bluegreen-null"]
        assert "app shop" in build.console

    def test_agent_none_has_no_workspace(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent none; stages { stage('s') { steps { sh 'true' } } } }"""))
        assert build.result == "FAILURE"
        assert "Required context class hudson.FilePath is missing" in build.console

    def test_top_level_local_variables_fail_under_script_splitting(self, jenkins, tmp_path):
        text = "String app = 'shop'\npipeline { agent none; stages { stage('s') { steps { echo app } } } }"
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, text))
        assert build.result == "FAILURE" and "[JENKINS-37984]" in build.console
        assert "Local variable declarations found: app." in build.console

    def test_sh_is_posix_sh_with_xe(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent any; stages { stage('s') { steps {
                sh 'X=1; echo "x=$X"'
                sh 'false; echo not-reached'
            } } } }"""))
        assert "+ X=1" in build.console and "x=1" in build.console
        assert "not-reached" not in build.console and "script returned exit code 1" in build.console


HOLD = """
pipeline {
    agent none
    stages {
        stage('hold') {
            options { lock(resource: 'prod') }
            %s
            steps { %s input(id: 'release', message: 'go?', submitter: 'release-managers') }
        }
    }
}"""


FREE = HOLD.replace("options { lock(resource: 'prod') }", "")  # no lock


class TestController:
    """Locks, executors, workspaces, input and milestones as the controller hands them out."""

    def test_locks_queue_builds_first_come_first_served(self, jenkins, tmp_path):
        path = jenkinsfile(tmp_path, HOLD % ("", ""))
        first = jenkins.pipeline.start(path)
        pending(jenkins, first.number, "Release")  # the id is capitalised, as InputStep does
        second = jenkins.pipeline.start(path)
        jenkins.wait(lambda: (second.number, "prod") in jenkins.lock_queue, 60, "#2 queued for the lock")
        assert jenkins.holding(first.number)["locks"] == ["prod"]
        assert jenkins.post(f"{first.number}/input/Release/proceedEmpty", "alice").ok
        pending(jenkins, second.number, "Release")
        assert jenkins.post(f"{second.number}/input/Release/proceedEmpty", "alice").ok
        assert (first.wait().result, second.wait().result) == ("SUCCESS", "SUCCESS")
        assert [(e["build"], e.get("lock") or "-" + e["unlock"]) for e in jenkins.log if "lock" in e
                or "unlock" in e] == [(1, "prod"), (1, "-prod"), (2, "prod"), (2, "-prod")]

    def test_a_build_waiting_inside_an_agent_holds_its_executor_and_workspace(self, jenkins, tmp_path):
        jenkins.executors = 1
        first = jenkins.pipeline.start(jenkinsfile(
            tmp_path, FREE % ("agent any", "writeFile(file: 'mine.txt', text: '1');")))
        pending(jenkins, first.number, "Release")
        assert jenkins.holding(first.number)["executors"] == [0]
        second = jenkins.pipeline.start(jenkinsfile(tmp_path, """
            pipeline { agent any; stages { stage('s') { steps { sh 'cat mine.txt tracked.txt' } } } }"""))
        jenkins.wait(lambda: any(n["build"] == second.number for n in jenkins.nodes.values()), 60,
                     "#2 queued for an executor")
        assert not jenkins.holding(second.number)["executors"]
        assert jenkins.post(f"{first.number}/input/Release/proceedEmpty", "alice").ok
        done = second.wait()
        assert done.result == "SUCCESS" and "1from git" in done.console.replace("\n", "")
        assert {e["workspace"] for e in jenkins.log if "workspace" in e} == {
            str(jenkins.root / "workspace" / "shop")}, "one workspace, reused with its files"

    def test_an_overlapping_build_gets_the_workspace_at_2(self, jenkins, tmp_path):
        path = jenkinsfile(tmp_path, FREE % ("agent any", ""))
        first, second = jenkins.pipeline.start(path), None
        pending(jenkins, first.number, "Release")
        second = jenkins.pipeline.start(path)
        pending(jenkins, second.number, "Release")
        workspaces = [e["workspace"] for e in jenkins.log if "workspace" in e]
        assert workspaces == [str(jenkins.root / "workspace" / "shop"), f"{jenkins.root}/workspace/shop@2"]
        for build in (first, second):
            assert jenkins.post(f"{build.number}/input/Release/abort", "alice").ok
            assert build.wait().result == "ABORTED"

    def test_input_answers_only_from_submitters_or_administrators(self, jenkins, tmp_path):
        build = jenkins.pipeline.start(jenkinsfile(tmp_path, FREE % ("", "")))
        pending(jenkins, build.number, "Release")
        refused = jenkins.post(f"{build.number}/input/Release/proceedEmpty", "bob")
        assert refused.status_code == 400
        assert refused.text == "You need to be release-managers to submit this."
        assert jenkins.post(f"{build.number}/input/Release/proceedEmpty", "root").ok
        assert build.wait().console.count("Approved by root") == 1

    def test_milestones_cancel_older_builds_that_have_not_passed(self, jenkins, tmp_path):
        """MilestoneStepExecution.getBuildsToCancel: a build passing ordinal N aborts every older
        running build whose last milestone is none or lower, whatever that build does."""
        waiting = jenkins.pipeline.start(jenkinsfile(tmp_path, FREE % ("", "")))
        pending(jenkins, waiting.number, "Release")
        newer = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent none; stages { stage('s') { steps { milestone(ordinal: 10) } } } }"""))
        assert newer.result == "SUCCESS"
        aborted = waiting.wait()
        assert aborted.result == "ABORTED" and "Superseded by #2" in aborted.console

    def test_a_stash_goes_from_one_node_to_the_next_of_the_same_build(self, jenkins, tmp_path):
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent none; stages {
                stage('a') { agent any; steps {
                    writeFile(file: 'out/p.json', text: '{}'); stash(name: 'p', includes: 'out/**') } }
                stage('b') { agent any; steps {
                    dir('out') { deleteDir() }; unstash('p'); sh 'cat out/p.json' } }
            } }"""))
        assert build.result == "SUCCESS", build.console
        assert not (jenkins.root / "stashes" / str(build.number)).exists(), "stashes go with the build"

    def test_junit_skip_old_reports(self, jenkins, tmp_path):
        workspace = jenkins.root / "workspace" / "shop"
        (workspace / "old").mkdir(parents=True)
        report = workspace / "old" / "junit.xml"
        report.write_text('<testsuite name="s" tests="1" failures="1"><testcase name="c"><failure/>'
                          '</testcase></testsuite>')
        os.utime(report, (time.time() - 60, time.time() - 60))
        build = jenkins.pipeline.run(jenkinsfile(tmp_path, """
            pipeline { agent any; stages { stage('s') { steps {
                junit(testResults: 'old/*.xml', allowEmptyResults: true, skipOldReports: true)
                junit(testResults: 'old/*.xml', allowEmptyResults: true)
            } } } }"""))
        assert [e["files"] for e in build.events("junit")] == [[], ["old/junit.xml"]]
        assert build.result == "UNSTABLE"


class TestCompatibilityRule:
    """blueGreen.compatibility: which agent's bluegreen passes, warns or fails."""

    CASES = [("0.2.0", "bluegreen 0.2.0", "ok"), ("0.2.0", "bluegreen 0.2.11", "ok"),
             ("0.2.0", "bluegreen 0.2.1.dev3+g1234", "ok"), ("0.2.0", "bluegreen 0.3.0", "fail"),
             ("0.2.0", "bluegreen 0.1.9", "fail"), ("1.2.0", "bluegreen 1.3.1", "warn"),
             ("1.2.0", "bluegreen 1.1.0", "fail"), ("1.2.0", "bluegreen 2.0.0", "fail"),
             ("0.2.0", "sh: 1: bluegreen: not found", "fail"), ("0.2.0", "", "fail")]

    def test_the_rule(self, jenkins, tmp_path):
        calls = "\n".join(f"echo(groovy.json.JsonOutput.toJson(blueGreen.compatibility('{lib}', '{said}', "
                          "'bluegreen on agent-1')))" for lib, said, _ in self.CASES)
        build = jenkins.pipeline.run(jenkinsfile(
            tmp_path, "pipeline { agent none; stages { stage('rule') { steps { script {\n"
                      + calls + "\n} } } } }"))
        verdicts = [json.loads(line) for line in build.console.splitlines() if line.startswith("{")]
        assert [v["level"] for v in verdicts] == [level for _, _, level in self.CASES], build.console
        assert verdicts[3]["message"].startswith(
            "blueGreen: bluegreen on agent-1 is bluegreen 0.3.0, this library is written for 0.2.0: install")


class TestLibraryFlags:
    """The options of a library step reach bluegreen as its flags (a stand-in bluegreen records them)."""

    def test_switch_live_flags(self, jenkins, tmp_path):
        stub = tmp_path / "bluegreen-stub"
        said = tmp_path / "argv.txt"
        stub.write_text(f'#!/bin/sh\n[ "$1" = --version ] && {{ echo "bluegreen {bluegreen.__version__}"; '
                        f'exit 0; }}\necho "$*" >> {said}\n')
        stub.chmod(0o755)
        jenkins.pipeline.credentials = {
            "varnish-secret": {"kind": "file", "content": "secret"},
            "jenkins-api-token": {"kind": "usernamePassword", "username": "u", "password": "p"}}
        calls = "\n".join(f"blueGreen.switchLive(stage: 'test', command: '{stub}'{extra})" for extra in
                          ("", ", force: true", ", noWarmup: true", ", force: true, noWarmup: true"))
        build = jenkins.pipeline.run(jenkinsfile(
            tmp_path, "pipeline { agent any; stages { stage('s') { steps { script {\n" + calls
                      + "\n} } } } }"))
        assert build.result == "SUCCESS", build.console
        assert said.read_text().splitlines() == [
            "switch --stage test", "switch --stage test --force", "switch --stage test --no-warmup",
            "switch --stage test --force --no-warmup"]
