"""The Jenkins store and python-jenkins against the fake controller over real HTTP: the answers a
real Jenkins gives (running builds, permissions, crumbs, content types, multibranch names)."""

from __future__ import annotations

import json

import pytest
import requests

from bluegreen.errors import JenkinsError
from bluegreen.records.files import StageFiles
from bluegreen.records.jenkins import JenkinsStore
from tests.helpers.fake_jenkins import FakeJenkins, User

USERS = {"deployer": User("t0ken"), "reader": User("r", job_read=False),
         "nobody": User("n", overall_read=False)}


def state(live: str, build: int) -> str:
    return json.dumps({"schema": 1, "app": "shop", "stage": "test", "live": live, "previous": None,
                       "colors": {live: {"release": "1.0.0", "vcl": f"shop_test_{live}_0000"}},
                       "history": [], "build": {"number": build}})


@pytest.fixture
def files(tmp_path):
    return StageFiles(tmp_path / "ws" / "bluegreen-out", "test")


def jenkins_for(tmp_path, job="shop"):
    return FakeJenkins(tmp_path / "jenkins", job, USERS)


def store(jenkins, build, user="deployer", token=None):
    return JenkinsStore(jenkins.url, jenkins.job, build, user,
                        token if token is not None else USERS[user].token, "bluegreen-out")


class TestBuilds:
    """Running builds are listed, with what they archived so far."""

    def test_a_running_build_is_read_like_a_finished_one(self, tmp_path, files):
        with jenkins_for(tmp_path) as jenkins:
            first = jenkins.new_build({})
            jenkins.archive(first, {"bluegreen-out/test/state.json": state("blue", first)})
            jenkins.finish(first)
            second = jenkins.new_build({})  # waits for the prod approval after switching test
            jenkins.archive(second, {"bluegreen-out/test/state.json": state("green", second)})
            third = jenkins.new_build({})
            s = store(jenkins, third)
            assert s.server.get_build_info("shop", second)["building"] is True
            assert s.load(files, "shop").live == "green"
            assert s.description == "the state archived by build #2 of shop"

    def test_artifacts_are_json_and_a_crumb_is_issued(self, tmp_path, files):
        with jenkins_for(tmp_path) as jenkins:
            number = jenkins.new_build({})
            jenkins.archive(number, {"bluegreen-out/test/state.json": state("blue", number)})
            s = store(jenkins, number + 1)
            s.load(files, "shop")
            assert ("GET", "/crumbIssuer/api/json", "deployer") in jenkins.requests
            assert s.server.crumb["crumbRequestField"] == "Jenkins-Crumb"
            answer = requests.get(f"{jenkins.job_url}{number}/artifact/bluegreen-out/test/state.json",
                                  auth=("deployer", "t0ken"), timeout=5)
            assert answer.headers["Content-Type"] == "application/json"

    def test_a_multibranch_branch_name_is_encoded_once_more_in_urls(self, tmp_path, files):
        with jenkins_for(tmp_path, "team/shop/feature%2Fx") as jenkins:
            number = jenkins.new_build({})
            jenkins.archive(number, {"bluegreen-out/test/state.json": state("blue", number)})
            assert store(jenkins, number + 1).load(files, "shop").live == "blue"
            assert ("GET", "/job/team/job/shop/job/feature%252Fx/api/json", "deployer") in jenkins.requests

    def test_vcl_source_from_the_archive(self, tmp_path, files):
        with jenkins_for(tmp_path) as jenkins:
            number = jenkins.new_build({})
            jenkins.archive(number, {"bluegreen-out/test/state.json": state("blue", number),
                                     "bluegreen-out/test/vcl/shop_test_blue_0000.vcl": "vcl 4.1;\n"})
            s = store(jenkins, number + 1)
            s.load(files, "shop")
            assert s.vcl_source(files, "shop_test_blue_0000") == "vcl 4.1;\n"


class TestPermissions:
    """401 for a wrong token, 403 without Overall/Read, 404 without Job/Read: each said plainly."""

    @pytest.mark.parametrize("user, token, said", [
        ("deployer", "wrong", r"did not accept the credentials for job shop \(HTTP 401\)"),
        ("nobody", None, r"refused job shop to user nobody \(HTTP 403\): the user needs Overall/Read"),
        ("reader", None, r"has no job shop \(HTTP 404\): check JOB_NAME, and that the user reader has "
                         r"Job/Read on it"),
    ])
    def test_refusals(self, tmp_path, files, user, token, said):
        with jenkins_for(tmp_path) as jenkins:
            jenkins.new_build({})
            with pytest.raises(JenkinsError, match=said) as err:
                store(jenkins, 2, user, token).load(files, "shop")
            assert "t0ken" not in err.value.message and err.value.exit_code == 3

    def test_anonymous_is_refused(self, tmp_path, files):
        with jenkins_for(tmp_path) as jenkins:
            anonymous = JenkinsStore(jenkins.url, "shop", 2, None, None, "bluegreen-out")
            with pytest.raises(JenkinsError, match=r"to user \(anonymous\) \(HTTP 403\)"):
                anonymous.load(files, "shop")
