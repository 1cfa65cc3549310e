"""The recorded state inside Jenkins: OUT/S/state.json archived by the newest earlier build.

Not lastSuccessfulBuild: a build can switch production and fail in a later stage, and its
artifact is the truth. Nor only finished builds: a build waiting for the prod approval has
already archived test's state, and the stage lock orders the builds that write it. The walk
goes back BLUEGREEN_JENKINS_BUILDS builds (default 30): keep it at the job's
artifactNumToKeepStr, since older builds have no artifacts left. python-jenkins and requests
errors are translated to JenkinsError here.
"""

from __future__ import annotations

import json
import os
import re

from bluegreen.errors import JenkinsError, UsageError
from bluegreen.records.files import StageFiles, read_state
from bluegreen.records.state import State

MAX_BUILDS = 30


class JenkinsStore:
    description = "the Jenkins record"

    def __init__(self, url: str, job: str, build: int, user: str | None, token: str | None,
                 out: str, insecure: bool = False, timeout: float = 10.0, say=None,
                 server=None, max_builds: int = MAX_BUILDS):
        self.url, self.job, self.build = url, job, build
        self._user, self._token = user, token
        self.out, self.insecure, self.timeout = out, insecure, timeout
        self.max_builds = max_builds
        self._say = say or (lambda message: None)
        self._server = server
        self._numbers: list[int] | None = None
        self._infos: dict[int, dict] = {}
        self.loaded_from: int | None = None

    @classmethod
    def from_environ(cls, environ, out: str = "bluegreen-out", say=None) -> JenkinsStore:
        number, job = environ["BUILD_NUMBER"], environ["JOB_NAME"]
        if not number.isdigit():
            raise UsageError(f"BUILD_NUMBER is {number!r}, expected a whole number")
        url = environ.get("BLUEGREEN_JENKINS_URL") or environ.get("JENKINS_URL")
        if not url:
            raise UsageError(f"this is build #{number} of Jenkins job {job} (BUILD_NUMBER and JOB_NAME "
                             "are set) but JENKINS_URL is not, so the state of earlier builds cannot be "
                             "read: set the Jenkins URL (Manage Jenkins > System > Jenkins URL), or "
                             "BLUEGREEN_JENKINS_URL to the address this agent reaches Jenkins at")
        return cls(url, job, int(number), environ.get("JENKINS_USER"),
                   environ.get("JENKINS_API_TOKEN"), _relative_out(out, environ.get("WORKSPACE")),
                   environ.get("BLUEGREEN_JENKINS_INSECURE") == "1", say=say,
                   max_builds=_max_builds(environ.get("BLUEGREEN_JENKINS_BUILDS")))

    # -- the store interface -----------------------------------------------------------------
    def load(self, files: StageFiles, app: str) -> State | None:
        local = files.read_local_state(app)
        if local and local.build_number == self.build:
            self.description = f"the state this build (#{self.build}) recorded"
            return local
        for number in self._earlier_builds():
            path = self._artifact_path(number, f"{files.stage}/state.json")
            if path is None:
                continue
            data = self._artifact_json(number, path)
            self.description = f"the state archived by build #{number} of {self.job}"
            self.loaded_from = number
            return read_state(data, f"{path} of build #{number} of {self.job}", app, files.stage)
        self._nothing_found(files.stage)
        self.description = "the Jenkins record"
        return None

    def writing(self, files: StageFiles, app: str, generation: int, key: str | None = None):
        """A change of the record: this build's own record in OUT/S/ compare-and-swapped on its
        generation under the stage's lock; the Jenkins record is compared by `passive --check`
        in the locked stage right before the move, and the generation catches the rest."""
        return files.writing(app, generation, key, this_build=self.build)

    def newest_generation(self, files: StageFiles, app: str) -> int:
        state = self.load(files, app)
        return state.generation if state else 0

    def vcl_source(self, files: StageFiles, name: str) -> str | None:
        """The VCL `name` as archived under OUT/S/vcl/ by the build whose state was loaded, or
        else by the newest earlier build that has it; None when no build within reach has it."""
        earlier = self._earlier_builds()
        order = ([self.loaded_from] if self.loaded_from else []) + [n for n in earlier
                                                                    if n != self.loaded_from]
        for number in order:
            path = self._artifact_path(number, f"{files.stage}/vcl/{name}.vcl")
            if path is not None:
                raw = self._call(lambda n=number, p=path: self.server.get_build_artifact_as_bytes(
                    self.job, n, p), number)
                return raw.decode("utf-8", errors="replace")
        return None

    def _nothing_found(self, stage: str) -> None:
        walked = self._earlier_builds()
        if self._older_than_walk:
            self._say(f"WARNING: none of the last {len(walked)} builds of {self.job} (#{walked[-1]} to "
                      f"#{walked[0]}) archived {self.out}/{stage}/state.json: taking what Varnish serves, "
                      f"and the rollback target of {stage} is lost. Keep artifacts of at least "
                      f"BLUEGREEN_JENKINS_BUILDS={self.max_builds} builds (artifactNumToKeepStr), "
                      "or raise both")
        else:
            self._say(f"no earlier build of {self.job} archived {self.out}/{stage}/state.json (first "
                      f"release of {stage} here): taking what Varnish serves")

    # -- Jenkins -------------------------------------------------------------------------------
    @property
    def server(self):
        if self._server is None:
            import jenkins

            self._server = jenkins.Jenkins(self.url, username=self._user, password=self._token,
                                           timeout=self.timeout, retries=0)
            if self.insecure:
                self._server._session.verify = False
        return self._server

    def _earlier_builds(self) -> list[int]:
        if self._numbers is None:
            info = self._call(lambda: self.server.get_job_info(self.job), None)
            numbers = sorted({b["number"] for b in info.get("builds") or [] if isinstance(b, dict)
                              and isinstance(b.get("number"), int)}, reverse=True)
            earlier = [n for n in numbers if n < self.build]
            self._older_than_walk = len(earlier) > self.max_builds
            self._numbers = earlier[:self.max_builds]
        return self._numbers

    def _artifact_path(self, number: int, suffix: str) -> str | None:
        """The path of OUT/<suffix> among the artifacts of a build, running or finished."""
        if number not in self._infos:
            self._infos[number] = self._call(lambda: self.server.get_build_info(self.job, number), number)
        paths = [a.get("relativePath", "") for a in self._infos[number].get("artifacts") or []]
        wanted = f"{self.out}/{suffix}"
        if wanted in paths:
            return wanted
        return next((p for p in paths if p.endswith(f"/{suffix}")), None)

    def _artifact_json(self, number: int, path: str) -> dict:
        raw = self._call(lambda: self.server.get_build_artifact_as_bytes(self.job, number, path),
                         number)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise JenkinsError(f"{path} archived by build #{number} of {self.job} is not JSON: "
                               "not guessing the live color; fix the artifact or run 'adopt'") from None

    def _call(self, fn, number):
        import jenkins
        import requests

        where = f"job {self.job}" + (f" build #{number}" if number is not None else "")
        try:
            return fn()
        except (jenkins.JenkinsException, requests.exceptions.RequestException) as exc:
            raise JenkinsError(self._explain(exc, where, number is None)) from None

    def _explain(self, exc: BaseException, where: str, job_level: bool) -> str:
        """What went wrong, from the exception or the one python-jenkins swallowed into it."""
        import jenkins
        import requests

        cause = exc
        while cause is not None:
            if isinstance(cause, jenkins.TimeoutException | requests.exceptions.Timeout):
                return f"Jenkins at {self.url} did not answer within {self.timeout:g} s for {where}"
            if isinstance(cause, requests.exceptions.HTTPError) and cause.response is not None:
                return self._describe(f"[{cause.response.status_code}]", where)
            if isinstance(cause, requests.exceptions.ConnectionError):
                return f"Jenkins at {self.url} is not reachable for {where}"
            if isinstance(cause, jenkins.NotFoundException):
                return self._not_found(where, job_level)
            cause = cause.__context__
        return self._describe(str(exc), where)

    def _not_found(self, where: str, job_level: bool) -> str:
        if not job_level:
            return f"Jenkins at {self.url} has no {where} (HTTP 404)"
        return (f"Jenkins at {self.url} has no {where} (HTTP 404): check JOB_NAME, and that the user "
                f"{self._user or '(anonymous)'} has Job/Read on it (Jenkins answers 404, not 403, for a "
                "job the user may not see)")

    def _describe(self, text: str, where: str) -> str:
        code = re.search(r"\[(\d{3})\]", text)
        status = code.group(1) if code else None
        if status == "401":
            return (f"Jenkins at {self.url} did not accept the credentials for {where} (HTTP 401): "
                    "check JENKINS_USER and JENKINS_API_TOKEN (the jenkins-api-token credential)")
        if status == "403":
            return (f"Jenkins at {self.url} refused {where} to user {self._user or '(anonymous)'} "
                    "(HTTP 403): the user needs Overall/Read, and Job/Read on the job")
        if status:
            return f"Jenkins at {self.url} failed for {where} (HTTP {status})"
        if "does not exist" in text:
            return f"Jenkins at {self.url} has no {where}"
        return f"Jenkins at {self.url} failed for {where}: {text.splitlines()[0][:200]}"


def _max_builds(value: str | None) -> int:
    if value is None or value == "":
        return MAX_BUILDS
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"BLUEGREEN_JENKINS_BUILDS is {value!r}, expected a whole number of builds "
                         f"(1 or more; default {MAX_BUILDS}, as the job's artifactNumToKeepStr)")
    return int(value)


def _relative_out(out: str, workspace: str | None) -> str:
    """OUT as archiveArtifacts sees it: relative to the workspace."""
    if os.path.isabs(out) and workspace:
        try:
            return os.path.relpath(out, workspace)
        except ValueError:
            return out
    return os.path.normpath(out)
