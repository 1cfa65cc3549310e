"""A Jenkins controller for the Groovy harness (Jenkins itself cannot run here).

Two faces, on one loopback HTTP server:

- Jenkins' REST API, as python-jenkins and a person's browser meet it: job and build JSON with
  running builds listed (`building: true`, the artifacts archived so far), artifacts with the
  content type Jenkins' servlet container gives them, a crumb issuer, the input step's
  `proceedEmpty`/`abort` and a build's `stop`. Authentication as Jenkins answers it: 401 for a
  wrong user or API token, 403 for a user without Overall/Read (and for anonymous), 404 for a
  job the user may not read (Jenkins hides what Job/Read does not grant). Job names in URLs are
  `job/<segment>` with each segment URL-encoded once, so a multibranch branch `feature/x`, whose
  name is `feature%2Fx`, is `job/feature%252Fx`.
- The services a running build gets from the controller (`/harness/...`, called by
  tests/groovy/*.groovy): executors and workspaces, `lock` queues, milestones, pending inputs,
  interruption. They follow the plugins' own code:
  * workspaces: core's WorkspaceList hands out `<ws>`, then `<ws>@2`, `<ws>@3` while the earlier
    ones are in use; a workspace is reused by the next build, files and all;
  * locks: lockable-resources-plugin queues waiting builds first come, first served, and grants
    the resource when its holder leaves the `lock` block (or its build ends);
  * milestones: pipeline-milestone-step-plugin MilestoneStepExecution.getBuildsToCancel: every
    build is recorded with no milestone when it starts; a build passing ordinal N cancels every
    older running build whose last milestone is none or lower than N, and a build that completes
    cancels the older ones below its last milestone + 1;
  * input: pipeline-input-step-plugin InputStepExecution: the id is capitalised, `submitter` is a
    comma-separated list of users or groups (administrators may always answer), anyone else is
    refused with "You need to be ... to submit this."
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import requests

from bluegreen.demo.local import stop_group
from tests.helpers.paths import TESTS


@dataclass
class User:
    token: str
    overall_read: bool = True
    job_read: bool = True
    groups: tuple = ()
    admin: bool = False


@dataclass
class Build:
    number: int
    params: dict
    building: bool = True
    result: str | None = None
    description: str | None = None
    interrupted: str | None = None
    started: float = field(default_factory=time.time)


class Denied(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


class FakeJenkins:
    def __init__(self, root: Path, job: str, users: dict[str, User], executors: int = 2,
                 labels: tuple = ("bluegreen",)):
        self.root, self.job, self.users = Path(root), job, users
        self.executors, self.labels = executors, set(labels)
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, user)
        self.log: list[dict] = []  # what the controller granted, in order
        self.builds: dict[int, Build] = {}
        self.milestones: dict[int, int | None] = {}
        self.inputs: dict[tuple[int, str], dict] = {}
        self.locks: dict[str, int | None] = {}
        self.lock_queue: list[tuple[int, str]] = []
        self.nodes: dict[str, dict] = {}  # ticket -> {build, executor, workspace, granted}
        self.node_queue: list[str] = []
        self.cond = threading.Condition()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def job_url(self) -> str:
        return self.url + "".join(f"job/{_quote(p)}/" for p in self.job.split("/"))

    def __enter__(self) -> FakeJenkins:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    # -- the test's side ---------------------------------------------------------------------
    def new_build(self, params: dict) -> int:
        """A build leaves the queue and starts: listed as building, recorded with no milestone."""
        with self.cond:
            number = max(self.builds, default=0) + 1
            self.builds[number] = Build(number, dict(params))
            self.milestones[number] = None
            (self.artifacts / str(number)).mkdir(parents=True, exist_ok=True)
            self.cond.notify_all()
            return number

    def archive(self, number: int, files: dict[str, str]) -> None:
        """What archiveArtifacts of build #number copies to the controller, for tests without a build."""
        for path, text in files.items():
            target = self.artifacts / str(number) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def finish(self, number: int, result: str = "SUCCESS") -> None:
        self.service("/harness/build/finish", {"build": number, "result": result})

    def wait(self, condition, deadline_s: float, what: str):
        """Wait until condition() (called under the controller's lock) is truthy."""
        end = time.monotonic() + deadline_s
        with self.cond:
            while True:
                value = condition()
                if value:
                    return value
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what} not reached within {deadline_s:g} s; controller: "
                                       f"{self.snapshot()}")
                self.cond.wait(min(left, 0.5))

    def pending_input(self, number: int, input_id: str | None = None) -> dict | None:
        return next((i for (n, _), i in self.inputs.items() if n == number
                     and i["state"] == "pending" and input_id in (None, i["id"])), None)

    def holding(self, number: int) -> dict:
        """The locks and executors a build holds right now."""
        with self.cond:
            return {"locks": sorted(r for r, b in self.locks.items() if b == number),
                    "executors": [t["executor"] for t in self.nodes.values()
                                  if t["build"] == number and t["granted"]]}

    def snapshot(self) -> dict:
        return {"building": [n for n, b in self.builds.items() if b.building],
                "locks": {r: b for r, b in self.locks.items() if b}, "lock_queue": self.lock_queue,
                "inputs": [(n, i["id"], i["state"]) for (n, _), i in self.inputs.items()],
                "nodes": [(t["build"], t["executor"]) for t in self.nodes.values() if t["granted"]]}

    def post(self, path: str, user: str | None, **kw) -> requests.Response:
        """A person (or a script) POSTing to Jenkins with their API token, e.g. to approve."""
        auth = (user, self.users[user].token) if user else None
        return requests.post(self.job_url + path, auth=auth, timeout=10, **kw)

    # -- REST --------------------------------------------------------------------------------
    def rest(self, method: str, raw_path: str, auth: str | None) -> tuple[int, bytes, str]:
        path = urlsplit(raw_path).path
        user = self._authenticate(auth)
        self.requests.append((method, path, user))
        if path in ("/api/json", "/crumbIssuer/api/json"):
            if path.startswith("/crumb"):
                return 200, _json({"_class": "hudson.security.csrf.DefaultCrumbIssuer",
                                   "crumb": "c0ffee", "crumbRequestField": "Jenkins-Crumb"}), JSON
            return 200, _json({"_class": "hudson.model.Hudson", "jobs": []}), JSON
        rest = self._job_path(path)
        if rest is None or not self.users[user].job_read:
            return 404, b"<html>Not Found</html>", "text/html"
        with self.cond:
            return self._job(method, rest, user)

    def _authenticate(self, auth: str | None) -> str:
        if not auth or not auth.startswith("Basic "):
            raise Denied(403, "Authentication required")  # anonymous has no Overall/Read
        name, _, token = base64.b64decode(auth[6:]).decode().partition(":")
        if name not in self.users or self.users[name].token != token:
            raise Denied(401, "Invalid password/token for user: " + name)
        if not self.users[name].overall_read:
            raise Denied(403, f"{name} is missing the Overall/Read permission")
        return name

    def _job_path(self, path: str) -> str | None:
        parts = path.strip("/").split("/")
        names = self.job.split("/")
        for name in names:
            if len(parts) < 2 or parts[0] != "job" or unquote(parts[1]) != name:
                return None
            parts = parts[2:]
        return "/".join(parts)

    def _job(self, method, rest, user):
        if rest == "api/json":
            numbers = sorted(self.builds, reverse=True)
            builds = [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": n,
                       "url": f"{self.job_url}{n}/"} for n in numbers[:100]]
            return 200, _json({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                               "fullName": self.job, "builds": builds,
                               "firstBuild": builds[-1] if builds else None}), JSON
        number, _, tail = rest.partition("/")
        build = self.builds.get(int(number)) if number.isdigit() else None
        if build is None:
            return 404, b"<html>Not Found</html>", "text/html"
        folder = self.artifacts / number
        if tail == "api/json":
            files = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]
            return 200, _json({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                               "number": build.number, "building": build.building,
                               "result": build.result, "description": build.description,
                               "url": f"{self.job_url}{number}/",
                               "artifacts": [{"relativePath": f, "fileName": f.rsplit("/", 1)[-1],
                                              "displayPath": f.rsplit("/", 1)[-1]} for f in files]}), JSON
        if tail.startswith("artifact/") and method == "GET":
            target = (folder / unquote(tail[len("artifact/"):])).resolve()
            if folder.resolve() in target.parents and target.is_file():
                kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                return 200, target.read_bytes(), kind
        if method == "POST" and tail == "stop":
            self._interrupt(build.number, f"Aborted by {user}")
            return 200, b"", "text/plain"
        if method == "POST" and tail.startswith("input/"):
            return self._answer_input(build.number, tail.split("/")[1:], user)
        return 404, b"<html>Not Found</html>", "text/html"

    def _answer_input(self, number, parts, user):
        pending = self.inputs.get((number, parts[0])) if len(parts) == 2 else None
        if pending is None or parts[1] not in ("proceedEmpty", "abort"):
            return 404, b"<html>Not Found</html>", "text/html"
        if pending["state"] != "pending":
            return 400, b"This input has been already given", "text/plain"
        if not self._may_submit(pending["submitter"], user):
            verb = "submit" if parts[1] == "proceedEmpty" else "cancel"
            return 400, f"You need to be {pending['submitter']} to {verb} this.".encode(), "text/plain"
        pending.update(state="proceed" if parts[1] == "proceedEmpty" else "abort", by=user)
        self.log.append({"build": number, "input": pending["id"], "answer": pending["state"], "by": user})
        self.cond.notify_all()
        return 200, b"", "text/plain"

    def _may_submit(self, submitter: str | None, name: str) -> bool:
        if not submitter or self.users[name].admin:
            return True
        allowed = {s.strip() for s in submitter.split(",")}
        return name in allowed or bool(allowed & set(self.users[name].groups))

    # -- controller services for the harness ---------------------------------------------------
    def service(self, path: str, body: dict) -> dict:
        with self.cond:
            answer = getattr(self, "_svc_" + path.strip("/").split("/", 1)[1].replace("/", "_"))(**body)
            self.cond.notify_all()
            return answer

    def _svc_build_status(self, build):
        return {"interrupted": self.builds[build].interrupted}

    def _svc_build_finish(self, build, result, description=None):
        b = self.builds[build]
        b.building, b.result, b.description = False, result, description
        for resource, holder in list(self.locks.items()):
            if holder == build:
                self._unlock(resource)
        self.lock_queue = [q for q in self.lock_queue if q[0] != build]
        for ticket in [t for t, n in self.nodes.items() if n["build"] == build]:
            self._svc_node_release(build, ticket)
        last = self.milestones.pop(build, None)
        if last is not None:  # MilestoneStepExecution.Listener.onCompleted
            self._cancel_older(build, last + 1)
        shutil.rmtree(self.root / "stashes" / str(build), ignore_errors=True)  # no preserveStashes
        return {}

    def _svc_lock_request(self, build, resource):
        self.lock_queue.append((build, resource))
        self._grant_locks()
        return self._svc_lock_status(build, resource)

    def _svc_lock_status(self, build, resource):
        return {"granted": self.locks.get(resource) == build}

    def _svc_lock_release(self, build, resource):
        if self.locks.get(resource) == build:
            self._unlock(resource)
        self.lock_queue = [q for q in self.lock_queue if q != (build, resource)]
        self._grant_locks()
        return {}

    def _unlock(self, resource):
        holder = self.locks.pop(resource)
        self.log.append({"build": holder, "unlock": resource})
        self._grant_locks()

    def _grant_locks(self):
        for build, resource in list(self.lock_queue):
            if self.locks.get(resource) is None and self.builds[build].building:
                self.locks[resource] = build
                self.lock_queue.remove((build, resource))
                self.log.append({"build": build, "lock": resource})

    def _svc_node_request(self, build, label=None):
        if label and label not in self.labels:
            return {"error": f"There are no nodes with the label '{label}'"}
        ticket = f"{build}-{len(self.nodes)}"
        self.nodes[ticket] = {"build": build, "granted": False, "executor": None, "workspace": None}
        self.node_queue.append(ticket)
        self._grant_nodes()
        return self._svc_node_status(build, ticket)

    def _svc_node_status(self, build, ticket):
        return {"ticket": ticket} | self.nodes[ticket]

    def _svc_node_release(self, build, ticket):
        self.nodes[ticket]["granted"] = False
        self.nodes[ticket]["released"] = True
        self.node_queue = [t for t in self.node_queue if t != ticket]
        self._grant_nodes()
        return {}

    def _grant_nodes(self):
        busy = [n for n in self.nodes.values() if n["granted"]]
        for ticket in list(self.node_queue):
            free = sorted(set(range(self.executors)) - {n["executor"] for n in busy})
            if not free:
                return
            node = self.nodes[ticket]
            node.update(granted=True, executor=free[0], workspace=self._workspace(busy))
            busy.append(node)
            self.node_queue.remove(ticket)
            self.log.append({"build": node["build"], "node": node["executor"],
                             "workspace": node["workspace"]})

    def _workspace(self, busy) -> str:
        base = self.root / "workspace" / self.job.replace("/", "_")
        used = {n["workspace"] for n in busy}
        candidates = [str(base)] + [f"{base}@{i}" for i in range(2, 100)]
        return next(c for c in candidates if c not in used)

    def _svc_milestone(self, build, ordinal):
        self.milestones[build] = ordinal
        self.log.append({"build": build, "milestone": ordinal})
        self._cancel_older(build, ordinal)
        return {"interrupted": self.builds[build].interrupted}

    def _cancel_older(self, build, ordinal):
        """pipeline-milestone-step-plugin MilestoneStepExecution.getBuildsToCancel."""
        for other, passed in list(self.milestones.items()):
            if other < build and (passed is None or passed < ordinal):
                self._interrupt(other, f"Superseded by #{build}")
            elif other > build and passed is not None and passed >= ordinal:
                self._interrupt(build, f"Superseded by #{other}")

    def _interrupt(self, build, cause):
        b = self.builds[build]
        if b.building and not b.interrupted:
            b.interrupted = cause
            self.log.append({"build": build, "interrupted": cause})

    def _svc_input_open(self, build, id, message, submitter=None, ok=None):  # noqa: A002
        self.inputs[(build, id)] = {"id": id, "message": message, "submitter": submitter, "ok": ok,
                                    "state": "pending", "by": None}
        self.log.append({"build": build, "input": id, "submitter": submitter})
        return {}

    def _svc_input_status(self, build, id):  # noqa: A002
        return dict(self.inputs[(build, id)])

    def _svc_input_close(self, build, id, state):  # noqa: A002
        if self.inputs[(build, id)]["state"] == "pending":
            self.inputs[(build, id)]["state"] = state
        return {}

    # -- HTTP ----------------------------------------------------------------------------------
    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self._rest("GET")

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.startswith("/harness/"):
                    answer = outer.service(self.path, json.loads(body or b"{}"))
                    return self._send(200, _json(answer), JSON)
                self._rest("POST")

            def _rest(self, method):
                try:
                    status, body, kind = outer.rest(method, self.path, self.headers.get("Authorization"))
                except Denied as exc:
                    status, body, kind = exc.status, exc.text.encode(), "text/html"
                self._send(status, body, kind)

            def _send(self, status, body: bytes, kind: str):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="Jenkins"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


JSON = "application/json;charset=utf-8"


def _json(data) -> bytes:
    return json.dumps(data).encode()


def _quote(segment: str) -> str:
    return quote(segment, safe="")


# -- builds of a Jenkinsfile, each a Groovy process (tests/groovy/harness.groovy) ------------------

GROOVY = TESTS / "groovy"


@dataclass
class Finished:
    """A build that ended: its exit code, the harness's record of it, its console."""

    number: int
    code: int
    log: dict
    console: str

    @property
    def result(self) -> str:
        return self.log["result"]

    def events(self, kind: str) -> list[dict]:
        return [e for e in self.log["events"] if e["type"] == kind]

    def stages_run(self) -> list[str]:
        return [e["name"] for e in self.events("stage") if not e.get("skipped")]

    def archived(self, root: Path) -> list[str]:
        folder = root / "artifacts" / str(self.number)
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


class Running:
    def __init__(self, number: int, proc: subprocess.Popen, log: Path):
        self.number, self.proc, self.log = number, proc, log

    def wait(self, deadline_s: float = 300) -> Finished:
        try:
            code = self.proc.wait(deadline_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"build #{self.number} still running after {deadline_s} s; console:\n"
                                 + _tail(Path(str(self.log) + ".console"))) from None
        console = _tail(Path(str(self.log) + ".console"), 10**7)
        assert self.log.exists(), (f"build #{self.number} left no record (exit {code}):\n"
                                   f"{console[-3000:]}\n{_tail(self.log.with_suffix('.stderr'))}")
        return Finished(self.number, code, json.loads(self.log.read_text()), console)


class Pipeline:
    """Starts builds of a Jenkinsfile against a FakeJenkins, each in its own Groovy process."""

    def __init__(self, jenkins: FakeJenkins, jenkinsfile: Path, vars_dir: Path, scm: Path,
                 agent_env: dict, credentials: dict, env: dict | None = None):
        self.jenkins, self.jenkinsfile, self.vars_dir, self.scm = jenkins, jenkinsfile, vars_dir, scm
        self.agent_env, self.credentials, self.env = agent_env, credentials, env or {}
        self.running: list[Running] = []
        self.time_scale = 1.0
        self.script_splitting = True  # off in the plugin by default; the shared Jenkinsfile runs either way

    def start(self, jenkinsfile: Path | None = None, env: dict | None = None, **params) -> Running:
        number = self.jenkins.new_build(params)
        root = self.jenkins.root
        job = self.jenkins.job
        base = {"JENKINS_URL": self.jenkins.url, "JOB_NAME": job, "JOB_BASE_NAME": job.rsplit("/", 1)[-1],
                "BUILD_URL": f"{self.jenkins.job_url}{number}/",
                "BUILD_TAG": f"jenkins-{job.replace('/', '-')}-{number}"}
        merged = {k: v for k, v in (base | self.env | (env or {})).items() if v is not None}
        log = root / f"build-{number}.json"
        spec = {"jenkinsfile": str(jenkinsfile or self.jenkinsfile), "vars": str(self.vars_dir),
                "jenkins": self.jenkins.url, "build": number, "params": params, "env": merged,
                "agentEnv": self.agent_env, "credentials": self.credentials, "scm": str(self.scm),
                "root": str(root), "artifacts": str(self.jenkins.artifacts), "log": str(log),
                "timeScale": self.time_scale, "scriptSplitting": self.script_splitting}
        spec_path = root / f"spec-{number}.json"
        spec_path.write_text(json.dumps(spec))
        with open(log.with_suffix(".stderr"), "wb") as stderr:
            proc = subprocess.Popen([_tool("groovy"), "-cp", str(compiled_harness()),
                                     str(GROOVY / "harness.groovy"), str(spec_path)],
                                    stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        build = Running(number, proc, log)
        self.running.append(build)
        return build

    def run(self, jenkinsfile: Path | None = None, **params) -> Finished:
        return self.start(jenkinsfile, **params).wait()

    def stop(self) -> None:
        """Stop every build still running, with its whole process group."""
        for build in self.running:
            stop_group(build.proc, 20)


def compiled_harness() -> Path:
    """tests/groovy's classes compiled once (by content) instead of by every build's JVM."""
    sources = sorted(p for p in GROOVY.glob("*.groovy") if p.name != "harness.groovy")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"bluegreen-harness-{digest}"
    if not target.exists():
        building = Path(tempfile.mkdtemp(prefix="bluegreen-harness-"))
        subprocess.run([_tool("groovyc"), "-d", str(building), *map(str, sources)], check=True,
                       capture_output=True, timeout=300)
        try:
            building.rename(target)
        except OSError:  # another test process compiled it meanwhile
            shutil.rmtree(building, ignore_errors=True)
    return target


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"Debian's groovy ({name}) is needed for the pipeline tests: ./dev setup installs it"
    return found


def _tail(path: Path, size: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return "(no console)"
