"""The Jenkins state store, with Jenkins' REST API played by `responses` (Jenkins cannot run here)."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses

from bluegreen.errors import JenkinsError
from bluegreen.jenkins import JenkinsStore
from bluegreen.store import StageFiles

URL = "https://ci.example/"
TOKEN = "s3cr3t-api-token"


def state(live="green", previous="blue", build=41):
    return {"schema": 1, "app": "shop", "stage": "test", "live": live, "previous": previous,
            "colors": {"blue": {"release": "1.0.0", "vcl": "shop_test_blue_00000000"},
                       "green": {"release": "1.1.0", "vcl": "shop_test_green_00000000"}},
            "switch": None, "build": {"number": build, "url": None}, "history": []}


class FakeJenkins:
    """Registers Jenkins' endpoints for one job on a responses mock."""

    def __init__(self, mock, job_path: str = "job/shop/"):
        self.mock, self.base = mock, URL + job_path
        mock.add(responses.GET, URL + "crumbIssuer/api/json", status=404)

    def builds(self, *numbers):
        self.mock.add(responses.GET, self.base + "api/json?depth=0",
                      json={"builds": [{"number": n, "url": f"{self.base}{n}/"} for n in numbers]})

    def build(self, number, artifacts=(), building=False, result="SUCCESS"):
        self.mock.add(responses.GET, self.base + f"{number}/api/json?depth=0",
                      json={"number": number, "building": building, "result": result,
                            "artifacts": [{"relativePath": p, "fileName": p.rsplit("/", 1)[-1]}
                                          for p in artifacts]})

    def artifact(self, number, path, body, status=200):
        self.mock.add(responses.GET, self.base + f"{number}/artifact/{path}", body=body,
                      status=status, content_type="application/json")


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def files(tmp_path):
    return StageFiles(tmp_path / "bluegreen-out", "test")


def store(job="shop", build=43, said=None):
    return JenkinsStore(URL, job, build, "deployer", TOKEN, "bluegreen-out",
                        say=(said.append if said is not None else None))


ARTIFACT = "bluegreen-out/test/state.json"


class TestWalkBack:
    """The newest earlier build that archived the stage's state wins."""

    def test_newest_failed_build_that_switched_wins(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(43, 42, 41, 40)
        jenkins.build(42, [ARTIFACT], result="FAILURE")  # switched prod, then failed later
        jenkins.artifact(42, ARTIFACT, json.dumps(state(live="blue", previous="green", build=42)))
        s = store()
        loaded = s.load(files, "shop")
        assert loaded["live"] == "blue"
        assert "build #42 of shop" in s.description

    def test_builds_without_artifacts_and_running_builds_are_skipped(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(44, 43, 42, 41, 40)
        jenkins.build(42, [])
        jenkins.build(41, ["other/file.txt"])
        jenkins.build(40, [ARTIFACT])
        jenkins.artifact(40, ARTIFACT, json.dumps(state(build=40)))
        assert store(build=43).load(files, "shop")["live"] == "green"
        called = [c.request.url for c in mock.calls]
        assert not any("/44/" in u or "/43/" in u for u in called), "only earlier builds"

    def test_nothing_within_25_builds_falls_back_and_says_so(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(*range(100, 0, -1))
        for n in range(42, 17, -1):
            jenkins.build(n, [])
        said = []
        assert store(build=43, said=said).load(files, "shop") is None
        assert "within the last 25" in said[0]
        build_infos = [c.request.url for c in mock.calls
                       if re.search(r"/job/shop/\d+/api/json", c.request.url)]
        assert len(build_infos) == 25

    def test_state_written_by_this_build_is_used_without_asking_jenkins(self, mock, files):
        files.write_state(state(live="blue", build=43))
        loaded = store(build=43).load(files, "shop")
        assert loaded["live"] == "blue"
        assert len(mock.calls) == 0

    def test_stale_local_state_from_an_older_build_is_not_trusted(self, mock, files):
        files.write_state(state(live="blue", build=12))
        jenkins = FakeJenkins(mock)
        jenkins.builds(42)
        jenkins.build(42, [ARTIFACT])
        jenkins.artifact(42, ARTIFACT, json.dumps(state(live="green", build=42)))
        assert store(build=43).load(files, "shop")["live"] == "green"


class TestSettings:
    """Settings from the environment of a Jenkins build."""

    def test_tls_verified_unless_insecure_is_asked_for(self):
        env = {"JENKINS_URL": URL, "JOB_NAME": "shop", "BUILD_NUMBER": "3"}
        assert JenkinsStore.from_environ(env).server._session.verify is not False
        insecure = JenkinsStore.from_environ(env | {"BLUEGREEN_JENKINS_INSECURE": "1"})
        assert insecure.server._session.verify is False

    def test_out_relative_to_the_workspace(self):
        env = {"JENKINS_URL": URL, "JOB_NAME": "shop", "BUILD_NUMBER": "3", "WORKSPACE": "/ws/shop"}
        assert JenkinsStore.from_environ(env, "/ws/shop/bluegreen-out").out == "bluegreen-out"


class TestJobNames:
    """Folder and multibranch job names are quoted the way Jenkins' URLs want them."""

    def test_folder_and_multibranch_branch(self, mock, files):
        jenkins = FakeJenkins(mock, "job/team/job/app/job/feature%252Fx/")
        jenkins.builds(7)
        jenkins.build(7, [ARTIFACT])
        jenkins.artifact(7, ARTIFACT, json.dumps(state(build=7)))
        assert store(job="team/app/feature%2Fx", build=8).load(files, "shop")["live"] == "green"


class TestFailures:
    """Jenkins failing is exit 3 naming the job and build, never a guess."""

    @pytest.mark.parametrize("status, said", [(401, "refused the credentials"),
                                              (403, "refused the credentials"),
                                              (500, "HTTP 500"), (503, "HTTP 503")])
    def test_http_errors(self, mock, files, status, said):
        FakeJenkins(mock)
        mock.add(responses.GET, URL + "job/shop/api/json?depth=0", status=status)
        with pytest.raises(JenkinsError, match=said) as err:
            store().load(files, "shop")
        assert err.value.exit_code == 3
        assert "job shop" in err.value.message and TOKEN not in err.value.message

    def test_timeout(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(42)
        mock.add(responses.GET, URL + "job/shop/42/api/json?depth=0",
                 body=requests.exceptions.ReadTimeout("read timed out"))
        with pytest.raises(JenkinsError, match=r"did not answer within 10 s for job shop build #42"):
            store().load(files, "shop")

    def test_artifact_not_json(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(42)
        jenkins.build(42, [ARTIFACT])
        jenkins.artifact(42, ARTIFACT, "<html>proxy error</html>")
        with pytest.raises(JenkinsError, match=r"build #42 of shop is not JSON"):
            store().load(files, "shop")

    def test_artifact_with_unknown_schema(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(42)
        jenkins.build(42, [ARTIFACT])
        jenkins.artifact(42, ARTIFACT, json.dumps({**state(), "schema": 9}))
        with pytest.raises(Exception, match=r"build #42 of shop is not bluegreen state \(schema 9") as err:
            store().load(files, "shop")
        assert err.value.exit_code == 3


class TestThroughTheCli:
    """`passive` in a Jenkins build reads the previous build's artifact against real Varnish."""

    def _jenkins_env(self, site, build):
        for key, value in {"JENKINS_URL": URL, "JOB_NAME": "shop", "BUILD_NUMBER": str(build),
                           "JENKINS_USER": "deployer", "JENKINS_API_TOKEN": TOKEN}.items():
            site.monkeypatch.setenv(key, value)

    def test_second_build_reads_first_builds_artifact(self, site, mock):
        mock.add_passthru("http://127.0.0.1")
        self._jenkins_env(site, 1)
        jenkins = FakeJenkins(mock)
        jenkins.builds()
        site.release("1.0.0", out=site.root / "ws1")  # build 1: nothing earlier, Varnish says
        archived = (site.root / "ws1" / "test" / "state.json").read_text()
        assert json.loads(archived)["build"]["number"] == 1

        mock.replace(responses.GET, URL + "job/shop/api/json?depth=0",
                     json={"builds": [{"number": 1}]})
        jenkins.build(1, ["ws1/test/state.json"])
        jenkins.artifact(1, "ws1/test/state.json", archived)
        self._jenkins_env(site, 2)
        run = site.ok("passive", "--stage", "test", out=site.root / "ws2")
        assert run.out.strip() == "green"

    def test_jenkins_down_is_exit_3_and_changes_nothing(self, site, mock):
        mock.add_passthru("http://127.0.0.1")
        site.release("1.0.0")
        self._jenkins_env(site, 5)
        FakeJenkins(mock)
        mock.add(responses.GET, URL + "job/shop/api/json?depth=0", status=502)
        before = site.actives()
        run = site.cli("passive", "--stage", "test", out=site.root / "ws")
        assert run.code == 3 and "failed for job shop (HTTP 502)" in run.err
        assert TOKEN not in run.text
        assert site.actives() == before

    def test_drift_against_jenkins_record(self, site, mock):
        mock.add_passthru("http://127.0.0.1")
        site.release("1.0.0")
        self._jenkins_env(site, 9)
        jenkins = FakeJenkins(mock)
        jenkins.builds(8)
        jenkins.build(8, [ARTIFACT])
        jenkins.artifact(8, ARTIFACT, json.dumps(state(live="green", build=8)))
        run = site.cli("passive", "--stage", "test", out=site.root / "bluegreen-out")
        assert run.code == 1
        assert "blue is live on Varnish but the state archived by build #8 of shop says green" in run.err
        site.ok("adopt", "--stage", "test", "--reason", "hotfix by hand",
                out=site.root / "bluegreen-out")
        adopted = json.loads((site.root / "bluegreen-out" / "test" / "state.json").read_text())
        assert adopted["live"] == "blue" and adopted["history"][-1]["reason"] == "hotfix by hand"
