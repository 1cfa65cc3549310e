"""The Jenkins state store, with Jenkins' REST API played by `responses` (Jenkins cannot run here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
import responses

from bluegreen.context import Context
from bluegreen.errors import BadRecord, JenkinsError, UsageError
from bluegreen.records.files import LocalStore, StageFiles
from bluegreen.records.jenkins import JenkinsStore
from bluegreen.records.state import State

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
        assert loaded.live == "blue"
        assert "build #42 of shop" in s.description

    def test_builds_without_artifacts_are_skipped(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(44, 43, 42, 41, 40)
        jenkins.build(42, [])
        jenkins.build(41, ["other/file.txt"])
        jenkins.build(40, [ARTIFACT])
        jenkins.artifact(40, ARTIFACT, json.dumps(state(build=40)))
        assert store(build=43).load(files, "shop").live == "green"
        called = [c.request.url for c in mock.calls]
        assert not any("/44/" in u or "/43/" in u for u in called), "only earlier builds"

    def test_a_running_build_counts(self, mock, files):
        """Build 42 waits for the prod approval after switching test: its test state is the truth."""
        jenkins = FakeJenkins(mock)
        jenkins.builds(43, 42, 41)
        jenkins.build(42, [ARTIFACT, "bluegreen-out/prod/plan.json"], building=True, result=None)
        jenkins.artifact(42, ARTIFACT, json.dumps(state(live="blue", previous="green", build=42)))
        s = store(build=43)
        assert s.load(files, "shop").live == "blue"
        assert "build #42" in s.description and s.loaded_from == 42

    def test_nothing_within_the_walk_warns_that_the_rollback_target_is_lost(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(*range(100, 0, -1))
        for n in range(42, 12, -1):  # 42 down to 13
            jenkins.build(n, [])
        said = []
        assert store(build=43, said=said).load(files, "shop") is None
        assert said[0].startswith("WARNING: none of the last 30 builds of shop (#13 to #42)")
        assert "rollback target of test is lost" in said[0]
        build_infos = [c.request.url for c in mock.calls
                       if re.search(r"/job/shop/\d+/api/json", c.request.url)]
        assert len(build_infos) == 30

    def test_the_walk_follows_bluegreen_jenkins_builds(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(*range(20, 0, -1))
        for n in range(19, 14, -1):
            jenkins.build(n, [])
        env = {"JENKINS_URL": URL, "JOB_NAME": "shop", "BUILD_NUMBER": "20",
               "BLUEGREEN_JENKINS_BUILDS": "5"}
        said = []
        assert JenkinsStore.from_environ(env, say=said.append).load(files, "shop") is None
        assert "none of the last 5 builds" in said[0]

    def test_first_builds_of_a_job_say_so_without_a_warning(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(2, 1)
        jenkins.build(1, ["bluegreen-out/prod/state.json"])
        said = []
        assert store(build=2, said=said).load(files, "shop") is None
        assert said == ["no earlier build of shop archived bluegreen-out/test/state.json (first release "
                        "of test here): taking what Varnish serves"]

    def test_state_written_by_this_build_is_used_without_asking_jenkins(self, mock, files):
        files.write_state(State.read(state(live="blue", previous="green", build=43), "shop", "test", "t"))
        loaded = store(build=43).load(files, "shop")
        assert loaded.live == "blue"
        assert len(mock.calls) == 0

    def test_stale_local_state_from_an_older_build_is_not_trusted(self, mock, files):
        files.write_state(State.read(state(live="blue", previous="green", build=12), "shop", "test", "t"))
        jenkins = FakeJenkins(mock)
        jenkins.builds(42)
        jenkins.build(42, [ARTIFACT])
        jenkins.artifact(42, ARTIFACT, json.dumps(state(live="green", build=42)))
        assert store(build=43).load(files, "shop").live == "green"


class TestVclSource:
    """A VCL the workspace lacks comes from the archived build whose state was loaded, or earlier."""

    VCL = "bluegreen-out/test/vcl/shop_test_blue_00000000.vcl"

    def test_from_the_build_whose_state_was_loaded(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(42, 41)
        jenkins.build(42, [ARTIFACT, self.VCL])
        jenkins.artifact(42, ARTIFACT, json.dumps(state(build=42)))
        jenkins.artifact(42, self.VCL, "vcl 4.1; # blue")
        s = store()
        s.load(files, "shop")
        assert s.vcl_source(files, "shop_test_blue_00000000") == "vcl 4.1; # blue"

    def test_from_the_newest_earlier_build_that_archived_it(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(42, 41, 40)
        jenkins.build(42, [ARTIFACT])
        jenkins.artifact(42, ARTIFACT, json.dumps(state(build=42)))
        jenkins.build(41, [])
        jenkins.build(40, [self.VCL])
        jenkins.artifact(40, self.VCL, "vcl 4.1; # blue from 40")
        s = store()
        s.load(files, "shop")
        assert s.vcl_source(files, "shop_test_blue_00000000") == "vcl 4.1; # blue from 40"
        assert s.vcl_source(files, "shop_test_green_ffffffff") is None

    def test_jenkins_failing_is_a_jenkins_error(self, mock, files):
        jenkins = FakeJenkins(mock)
        jenkins.builds(42)
        jenkins.build(42, [self.VCL])
        jenkins.artifact(42, self.VCL, "bad gateway", status=502)
        with pytest.raises(JenkinsError, match=r"failed for job shop build #42 \(HTTP 502\)"):
            store().vcl_source(files, "shop_test_blue_00000000")

    def test_the_local_store_has_no_other_copy(self, files):
        assert LocalStore().vcl_source(files, "shop_test_blue_00000000") is None


def open_store(environ: dict):
    """The store a step in this environment reads the record from."""
    return Context("bluegreen.toml", Path("bluegreen-out"), environ=environ).store()


class TestSettings:
    """Settings from the environment of a Jenkins build."""

    def test_a_build_without_a_jenkins_url_is_refused(self):
        with pytest.raises(UsageError, match=r"build #3 of Jenkins job shop .* JENKINS_URL is not") as err:
            open_store({"JOB_NAME": "shop", "BUILD_NUMBER": "3"})
        assert err.value.exit_code == 2 and "BLUEGREEN_JENKINS_URL" in err.value.message

    def test_an_agent_reaches_jenkins_at_another_address(self):
        env = {"JENKINS_URL": URL, "BLUEGREEN_JENKINS_URL": "http://10.0.0.5:8080/", "JOB_NAME": "shop",
               "BUILD_NUMBER": "3"}
        assert open_store(env).url == "http://10.0.0.5:8080/"
        assert open_store({"BLUEGREEN_JENKINS_URL": URL, "JOB_NAME": "shop", "BUILD_NUMBER": "3"}).url == URL

    def test_outside_jenkins_the_local_store(self):
        assert isinstance(open_store({"JENKINS_URL": URL}), LocalStore)

    @pytest.mark.parametrize("value", ["0", "-3", "many"])
    def test_bad_walk_length(self, value):
        env = {"JENKINS_URL": URL, "JOB_NAME": "shop", "BUILD_NUMBER": "3", "BLUEGREEN_JENKINS_BUILDS": value}
        with pytest.raises(UsageError, match="BLUEGREEN_JENKINS_BUILDS is"):
            open_store(env)

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
        assert store(job="team/app/feature%2Fx", build=8).load(files, "shop").live == "green"


class TestFailures:
    """Jenkins failing is exit 3 naming the job and build, never a guess."""

    @pytest.mark.parametrize("status, said", [(401, "did not accept the credentials .* JENKINS_API_TOKEN"),
                                              (403, "to user deployer .* needs Overall/Read"),
                                              (500, "HTTP 500"), (503, "HTTP 503")])
    def test_http_errors(self, mock, files, status, said):
        FakeJenkins(mock)
        mock.add(responses.GET, URL + "job/shop/api/json?depth=0", status=status)
        with pytest.raises(JenkinsError, match=said) as err:
            store().load(files, "shop")
        assert err.value.exit_code == 3
        assert "job shop" in err.value.message and TOKEN not in err.value.message

    def test_no_such_job_may_be_a_permission(self, mock, files):
        FakeJenkins(mock)
        mock.add(responses.GET, URL + "job/shop/api/json?depth=0", status=404)
        with pytest.raises(JenkinsError, match=r"has no job shop \(HTTP 404\): check JOB_NAME, and that "
                                               r"the user deployer has Job/Read"):
            store().load(files, "shop")

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
        with pytest.raises(BadRecord, match=r"build #42 of shop is not valid bluegreen state: 'schema' is 9"):
            store().load(files, "shop")
        assert BadRecord.exit_code == 2


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
