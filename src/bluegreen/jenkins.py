"""The recorded state inside Jenkins: OUT/S/state.json archived by the newest earlier build.

Not lastSuccessfulBuild: a build can switch production and fail in a later stage, and its
artifact is the truth. python-jenkins and requests errors are translated to JenkinsError here.
"""

from __future__ import annotations

import json
import os
import re

from bluegreen.errors import JenkinsError
from bluegreen.store import StageFiles, validate_state

MAX_BUILDS = 25


class JenkinsStore:
    description = "the Jenkins record"

    def __init__(self, url: str, job: str, build: int, user: str | None, token: str | None,
                 out: str, insecure: bool = False, timeout: float = 10.0, say=None,
                 server=None):
        self.url, self.job, self.build = url, job, build
        self._user, self._token = user, token
        self.out, self.insecure, self.timeout = out, insecure, timeout
        self._say = say or (lambda message: None)
        self._server = server

    @classmethod
    def from_environ(cls, environ, out: str = "bluegreen-out", say=None) -> JenkinsStore:
        number = environ["BUILD_NUMBER"]
        if not number.isdigit():
            from bluegreen.errors import UsageError

            raise UsageError(f"BUILD_NUMBER is {number!r}, expected a whole number")
        return cls(environ["JENKINS_URL"], environ["JOB_NAME"], int(number),
                   environ.get("JENKINS_USER"), environ.get("JENKINS_API_TOKEN"),
                   _relative_out(out, environ.get("WORKSPACE")),
                   environ.get("BLUEGREEN_JENKINS_INSECURE") == "1", say=say)

    # -- the store interface -----------------------------------------------------------------
    def load(self, files: StageFiles, app: str) -> dict | None:
        local = files.read_local_state(app)
        if local and (local.get("build") or {}).get("number") == self.build:
            self.description = f"the state this build (#{self.build}) recorded"
            return local
        for number in self._earlier_builds():
            info = self._call(lambda n=number: self.server.get_build_info(self.job, n), number)
            if info.get("building"):
                continue
            path = self._artifact_path(info, files.stage)
            if path is None:
                continue
            data = self._artifact(number, path)
            self.description = f"the state archived by build #{number} of {self.job}"
            return validate_state(data, f"{path} of build #{number} of {self.job}", app, files.stage)
        self._say(f"no earlier build of {self.job} within the last {MAX_BUILDS} archived "
                  f"{self.out}/{files.stage}/state.json: taking what Varnish serves")
        self.description = "the Jenkins record"
        return None

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
        info = self._call(lambda: self.server.get_job_info(self.job), None)
        numbers = sorted({b["number"] for b in info.get("builds") or [] if isinstance(b, dict)
                          and isinstance(b.get("number"), int)}, reverse=True)
        return [n for n in numbers if n < self.build][:MAX_BUILDS]

    def _artifact_path(self, info: dict, stage: str) -> str | None:
        paths = [a.get("relativePath", "") for a in info.get("artifacts") or []]
        wanted = f"{self.out}/{stage}/state.json"
        if wanted in paths:
            return wanted
        return next((p for p in paths if p.endswith(f"/{stage}/state.json")), None)

    def _artifact(self, number: int, path: str) -> dict:
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
            raise JenkinsError(self._explain(exc, where)) from None

    def _explain(self, exc: BaseException, where: str) -> str:
        """What went wrong, from the exception or the one python-jenkins swallowed into it."""
        import jenkins
        import requests

        cause = exc
        while cause is not None:
            if isinstance(cause, jenkins.TimeoutException | requests.exceptions.Timeout):
                return f"Jenkins at {self.url} did not answer within {self.timeout:g} s for {where}"
            if isinstance(cause, requests.exceptions.HTTPError) and cause.response is not None:
                return _describe(f"[{cause.response.status_code}]", self.url, where)
            if isinstance(cause, requests.exceptions.ConnectionError):
                return f"Jenkins at {self.url} is not reachable for {where}"
            if isinstance(cause, jenkins.NotFoundException):
                return f"Jenkins at {self.url} has no {where} (HTTP 404)"
            cause = cause.__context__
        return _describe(str(exc), self.url, where)


def _describe(text: str, url: str, where: str) -> str:
    code = re.search(r"\[(\d{3})\]", text)
    if code and code.group(1) in ("401", "403"):
        return (f"Jenkins at {url} refused the credentials for {where} (HTTP {code.group(1)}): "
                "check JENKINS_USER and JENKINS_API_TOKEN")
    if code:
        return f"Jenkins at {url} failed for {where} (HTTP {code.group(1)})"
    if "does not exist" in text:
        return f"Jenkins at {url} has no {where}"
    return f"Jenkins at {url} failed for {where}: {text.splitlines()[0][:200]}"


def _relative_out(out: str, workspace: str | None) -> str:
    """OUT as archiveArtifacts sees it: relative to the workspace."""
    if os.path.isabs(out) and workspace:
        try:
            return os.path.relpath(out, workspace)
        except ValueError:
            return out
    return os.path.normpath(out)
