"""Property-based tests: whatever the input, the readers load it or raise a BluegreenError.

The property, for the config loader, the state and plan readers, the Varnish admin protocol
reader and release strings: any input loads, or raises a BluegreenError whose message is one line
and whose exit code is 1, 2 or 3. Never another exception, never a traceback; through the CLI,
never an "internal error". Examples are few and derandomized so the suite stays fast and stable.

The newer features' inputs (issue 24; requests and expected-changes files, Prometheus answers,
varnishstat and varnishncsa output, configs holding passwords) add two more: no secret in any
output or file, and every wait within its configured bound.

The inputs these properties once found to crash a reader are kept in HOSTILE, each as a plain
test with its minimal example (all fixed); the general strategies still keep numbers and strings
in the ranges where they exercise the common paths.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bluegreen.cli import main
from bluegreen.compare.requests import parse_expected, parse_requests
from bluegreen.config import load as configuration
from bluegreen.errors import BluegreenError
from bluegreen.model import Address
from bluegreen.records.files import StageFiles, read_plan, read_state
from bluegreen.steps.deploy import check_release
from bluegreen.varnish.admin import VarnishAdmin

FEW = settings(max_examples=120, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.filter_too_much])
FEWER = settings(FEW, max_examples=40)


def holds(call, one_line: bool = True):
    """call() returns, or raises a BluegreenError with a one-line message and exit code 1, 2 or 3.
    Any other exception propagates and fails the property with its minimal example."""
    try:
        return call()
    except BluegreenError as exc:
        assert exc.exit_code in (1, 2, 3), (exc.exit_code, exc.message)
        assert exc.message.strip(), "an empty message"
        if one_line:
            assert len(exc.message.strip().splitlines()) == 1, exc.message
        return exc


def cli_holds(capsys, argv: list[str]) -> int:
    """The CLI answers 0 to 3, with no internal error and a one-line error message on stderr."""
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2, 3), (code, err)
    assert "internal error" not in err and "Traceback" not in err, err
    if "bluegreen: " in err:  # the error is the last line, whole: a line break would end it elsewhere
        assert err.rstrip("\n").splitlines()[-1].startswith("bluegreen: "), err
    return code


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for key in ("BLUEGREEN_SECRET_FILE", "BLUEGREEN_CONFIG", "BLUEGREEN_OUT", "JENKINS_URL",
                "JOB_NAME", "BUILD_NUMBER", "BLUEGREEN_DEBUG"):
        monkeypatch.delenv(key, raising=False)


# -- values as TOML and JSON give them ------------------------------------------------------------

# Strings near the edges of what the config and the records accept.
EDGY_TEXT = ["", " ", "shop", "shop\n", "prod\n", "/health", "/health\n", "X-Bluegreen-Color\n",
             "127.0.0.1:6082", "127.0.0.1:0", "127.0.0.1:65536", "[::1]:6082", "[::1", "host:port",
             "a:1", "10.1.2.3/8", "0.0.0.0/0", "::/0", "10.0.0.0/8", "127.0.0.1", "{host}", "{nope}",
             "{", "}", "{{}}", "{app}_{stage}", "-x", "http://x", "vcl", "label", "pass", "blue",
             "green", "live", "hot", "expand", "1.0.0", "é", "\x00", "\t", "\x7f", "🙂", "a b",
             "a\nb", "{a\nb}", "x\r"]
EDGY_NUMBERS = [0, -1, 1, 3, 2**63 - 1, -(2**63), 0.0, -0.0, 1e-9, 0.5, 1e300, -1e300,
                math.inf, -math.inf, math.nan]
BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines breaks a line


def one_line(text: str) -> bool:
    return not any(ch in BREAKS for ch in text)


# Known bug: integers beyond a float's range (10**400) crash `math.isfinite` (HOSTILE, fixed), so the
# general strategies keep to TOML's own 64-bit range.
INTS = st.integers(-(2**63), 2**63 - 1)


def texts(breaks: bool):
    """Short text, and the edge cases; with `breaks`, line breaks too."""
    if breaks:
        return st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(EDGY_TEXT)
    return (st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=BREAKS), max_size=12)
            | st.sampled_from([t for t in EDGY_TEXT if one_line(t)]))


def nested(scalars, keys):
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(keys, inner, max_size=4), max_leaves=8)


def toml_values(breaks: bool):
    text = texts(breaks)
    return nested(text | INTS | st.floats() | st.booleans() | st.sampled_from(EDGY_NUMBERS)
                  | st.datetimes() | st.dates() | st.times()
                  | st.datetimes(timezones=st.just(datetime.UTC)), text)


def json_values(breaks: bool):
    text = texts(breaks)
    return nested(st.none() | text | INTS | st.floats() | st.booleans()
                  | st.sampled_from(EDGY_NUMBERS), text)


TEXT = texts(False)
TOML_VALUES = toml_values(False)
JSON_VALUES = json_values(False)


@st.composite
def mutated(draw, base: dict, paths: dict[str, list[str]], values, keys=TEXT) -> dict:
    """`base` with one to three keys set to another value, removed, or added under a table."""
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.sampled_from(sorted(paths)))
        parent = data
        for part in [p for p in table.split(".") if p]:
            child = parent.get(part) if isinstance(parent, dict) else None
            if not isinstance(child, dict):
                child = {}
                if isinstance(parent, dict):
                    parent[part] = child
            parent = child
        key = draw(st.sampled_from(paths[table]) | keys)
        if draw(st.integers(0, 5)) == 0:
            parent.pop(key, None)
        else:
            parent[key] = draw(values)
    return data


# -- the config loader --------------------------------------------------------------------------

BASE_CONFIG = {
    "app": "shop", "secret_file": "secret",
    "vcl": {"preview_from": ["127.0.0.1"], "keep": 3, "mode": "vcl"},
    "checks": {"health_path": "/health", "timeout_s": 2, "wait_s": 5},
    "deploy": {"command": ["./deploy.sh", "{host}", "{port}", "{version}", "{color}"], "parallel": 2},
    "stages": {"test": {"varnish": ["127.0.0.1:1"], "front": ["127.0.0.1:2"],
                        "blue": ["127.0.0.1:3"], "green": ["127.0.0.1:4"]}},
}
CONFIG_KEYS = {
    "": ["app", "secret_file", "vcl", "checks", "deploy", "stages", "schema", "compare", "watch",
         "retire", "warmup"],
    "vcl": ["template", "preview_from", "preview_header", "keep", "mode", "label", "backend", "probe",
            "preview_listener", "preview_token_file", "reveal_color", "purge_from", "cache_split",
            "compile_timeout_s"],
    "vcl.backend": ["connect_timeout", "first_byte_timeout", "between_bytes_timeout", "max_connections"],
    "vcl.probe": ["interval_s", "timeout_s", "window", "threshold"],
    "checks": ["health_path", "version_path", "timeout_s", "wait_s", "smoke", "host"],
    "deploy": ["command", "parallel", "timeout_s", "pass_secrets"],
    "stages": ["test", "prod", "1x", "a b"],
    "stages.test": ["varnish", "front", "blue", "green", "secret_files", "preview"],
    "schema": ["expand", "contract", "pending", "inspect", "timeout_s"],
    "compare": ["requests", "ignore", "expected", "headers", "allow_unsafe", "concurrency", "timeout_s"],
    "watch": ["seconds", "interval_s", "max_error_rate", "min_requests", "on_inconclusive", "source",
              "prometheus", "requests_query", "errors_query"],
    "retire": ["after_s", "command", "timeout_s"],
    "warmup": ["requests", "top", "concurrency", "timeout_s", "budget_s"],
}
# Known bug: a file path longer than a file name may be (vcl.template = "a" * 300) crashes
# `Path.is_file` with ENAMETOOLONG (HOSTILE, fixed), so generated strings stay short (TEXT).
CONFIGS = mutated(BASE_CONFIG, CONFIG_KEYS, TOML_VALUES)
# Known bug: a key or a value holding a line break is echoed into the message, which then spans
# two lines (HOSTILE, fixed); CONFIGS holds no line break, CONFIGS_WITH_BREAKS does (TestLineBreaks).
CONFIGS_WITH_BREAKS = mutated(BASE_CONFIG, CONFIG_KEYS, toml_values(True), texts(True))


def toml(value) -> str:
    """A value as TOML: inline tables and arrays, so any nesting is one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else "inf" if value == math.inf else \
            "-inf" if value == -math.inf else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml(str(k))} = {toml(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict) -> str:
    return "".join(f"{toml(str(k))} = {toml(v)}\n" for k, v in data.items())


@pytest.fixture
def site_dir(tmp_path) -> Path:
    (tmp_path / "secret").write_text("s3cret\n")
    return tmp_path


class TestConfig:
    """bluegreen.toml: any table, any text, any bytes loads or gives a ConfigError (exit 2)."""

    def test_the_base_config_loads(self, site_dir):
        assert configuration.parse(BASE_CONFIG, site_dir).app == "shop"
        path = site_dir / "bluegreen.toml"
        path.write_text(toml_document(BASE_CONFIG))
        assert configuration.load(path).stages["test"].servers["blue"] == (Address("127.0.0.1", 3),)

    @FEW
    @given(raw=CONFIGS)
    def test_parse_any_table(self, site_dir, raw):
        holds(lambda: configuration.parse(raw, site_dir))

    @FEW
    @given(raw=TOML_VALUES)
    def test_parse_any_value_as_the_whole_file(self, site_dir, raw):
        holds(lambda: configuration.parse(raw if isinstance(raw, dict) else {"app": raw}, site_dir))

    @FEW
    @given(raw=CONFIGS)
    def test_load_any_table_written_as_toml(self, site_dir, raw):
        path = site_dir / "bluegreen.toml"
        path.write_text(toml_document(raw), encoding="utf-8")
        holds(lambda: configuration.load(path))

    @FEW
    @given(text=st.text(max_size=200) | st.binary(max_size=200))
    def test_load_any_text_or_bytes(self, site_dir, text):
        path = site_dir / "bluegreen.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        holds(lambda: configuration.load(path))

    @FEWER
    @given(raw=CONFIGS)
    def test_the_cli_on_any_config(self, site_dir, capsys, raw):
        path = site_dir / "bluegreen.toml"
        path.write_text(toml_document(raw), encoding="utf-8")
        # a stage no config defines: the whole file is read and checked, nothing is contacted
        code = cli_holds(capsys, ["-c", str(path), "--out", str(site_dir / "out"),
                                  "status", "--stage", "nosuchstage"])
        assert code == 2


# -- the state and plan readers -----------------------------------------------------------------

STATE = {"schema": 1, "app": "shop", "stage": "test", "live": "green", "previous": "blue",
         "colors": {"blue": {"release": "1.4.2", "vcl": "shop_test_blue_3f9a2c1d", "readiness": "hot"},
                    "green": {"release": "1.5.0", "vcl": "shop_test_green_8b07e4aa",
                              "readiness": "live"}},
         "migrations": [{"phase": "expand", "release": "1.5.0", "at": "2026-11-29T10:00:00Z"}],
         "switch": {"at": "2026-11-29T10:00:00Z", "window_ms": 0.41, "instances": 2, "forced": False},
         "build": {"number": 42, "url": "https://ci.example/job/shop/42/"},
         "history": [{"at": "2026-11-29T10:00:00Z", "action": "switch", "from": "blue", "to": "green",
                      "release": "1.5.0", "build": 42}],
         "bluegreen_version": "0.2.0"}
STATE_KEYS = {"": list(STATE) + ["watch"], "colors": ["blue", "green", "red"],
              "colors.blue": ["release", "vcl", "readiness"], "switch": ["at", "window_ms", "instances",
                                                                          "forced"],
              "build": ["number", "url"]}
PLAN = {"schema": 1, "id": "a1b2c3d4e5f6", "app": "shop", "stage": "test", "created": "now",
        "live": "blue", "passive": "green", "expected": {"127.0.0.1:6082": "shop_test_blue_3f9a2c1d"},
        "previous_state": STATE, "release": "1.5.0",
        "vcl": {"blue": "shop_test_blue_3f9a2c1d", "green": "shop_test_green_8b07e4aa"},
        "deploy": [], "verified": None, "switched": None, "bluegreen_version": "0.2.0"}
PLAN_KEYS = {"": list(PLAN) + ["verify_failed", "compared", "compare_failed", "checks"],
             "expected": ["127.0.0.1:6082"], "vcl": ["blue", "green"],
             "previous_state": list(STATE), "previous_state.colors": ["blue", "green"]}
# Known bugs (HOSTILE, fixed): an integer beyond a float's range as switch.window_ms, and a
# bluegreen_version of more than 4300 digits; INTS and TEXT keep below both.
STATES = mutated(STATE, STATE_KEYS, JSON_VALUES) | JSON_VALUES
PLANS = mutated(PLAN, PLAN_KEYS, JSON_VALUES) | JSON_VALUES
STATES_WITH_BREAKS = mutated(STATE, STATE_KEYS, json_values(True), texts(True))
PLANS_WITH_BREAKS = mutated(PLAN, PLAN_KEYS, json_values(True), texts(True))


def as_json(data) -> str:
    return json.dumps(data, allow_nan=True)


class TestRecords:
    """state.json and plan.json: any JSON (or not JSON) is valid, or refused with exit 1 or 3."""

    def test_the_base_records_are_valid(self, tmp_path):
        state = read_state(STATE, "state.json", "shop", "test")
        assert read_state(state.to_json(), "state.json", "shop", "test") == state, "written as read"
        plan = read_plan(PLAN, "plan.json", "shop", "test")
        assert read_plan(plan.to_json(), "plan.json", "shop", "test") == plan

    @FEW
    @given(data=STATES)
    def test_validate_any_state(self, data):
        holds(lambda: read_state(data, "state.json", "shop", "test"))

    @FEW
    @given(data=PLANS)
    def test_validate_any_plan(self, data):
        holds(lambda: read_plan(data, "plan.json", "shop", "test"))

    @FEW
    @given(text=STATES.map(as_json) | st.text(max_size=100) | st.binary(max_size=100))
    def test_read_any_state_file(self, tmp_path, text):
        files = StageFiles(tmp_path, "test", "shop")
        files.dir.mkdir(exist_ok=True)
        files.state_path.write_bytes(text if isinstance(text, bytes) else text.encode())
        holds(lambda: files.read_local_state("shop"))

    @FEW
    @given(text=PLANS.map(as_json) | st.text(max_size=100) | st.binary(max_size=100))
    def test_read_any_plan_file(self, tmp_path, text):
        files = StageFiles(tmp_path, "test", "shop")
        files.dir.mkdir(exist_ok=True)
        files.plan_path.write_bytes(text if isinstance(text, bytes) else text.encode())
        holds(lambda: files.read_plan("deploy"))

    @pytest.mark.parametrize("depth", [10_000, 100_000])
    def test_deeply_nested_json_is_refused(self, tmp_path, depth):
        files = StageFiles(tmp_path, "test", "shop")
        files.dir.mkdir()
        files.plan_path.write_text("[" * depth)
        files.state_path.write_text("{\"a\":" * depth)
        assert isinstance(holds(lambda: files.read_plan("deploy")), BluegreenError)
        assert isinstance(holds(lambda: files.read_local_state("shop")), BluegreenError)


@pytest.fixture
def stage_dir(site_dir) -> Path:
    """A valid config whose Varnish port is closed: steps fail fast with exit 3 after reading."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    raw = json.loads(json.dumps(BASE_CONFIG))
    raw["stages"]["test"]["varnish"] = [f"127.0.0.1:{closed}"]
    (site_dir / "bluegreen.toml").write_text(toml_document(raw))
    (site_dir / "out" / "test").mkdir(parents=True)
    return site_dir


class TestRecordsThroughTheCli:
    """A step that reads a hostile record exits 1, 2 or 3 with one line, never an internal error."""

    @FEWER
    @given(text=PLANS.map(as_json) | st.binary(max_size=60))
    def test_deploy_with_any_plan(self, stage_dir, capsys, text):
        (stage_dir / "out" / "test" / "plan.json").write_bytes(text if isinstance(text, bytes)
                                                               else text.encode())
        cli_holds(capsys, ["-c", str(stage_dir / "bluegreen.toml"), "--out", str(stage_dir / "out"),
                           "deploy", "--stage", "test", "--version", "1.0.0"])

    @FEWER
    @given(text=STATES.map(as_json) | st.binary(max_size=60))
    def test_status_with_any_state(self, stage_dir, capsys, text):
        (stage_dir / "out" / "test" / "state.json").write_bytes(text if isinstance(text, bytes)
                                                                else text.encode())
        code = cli_holds(capsys, ["-c", str(stage_dir / "bluegreen.toml"), "--out",
                                  str(stage_dir / "out"), "status", "--stage", "test"])
        assert code == 3  # the record is read (or refused), then the closed Varnish port


class TestLineBreaks:
    """Keys and values holding line breaks never crash a reader, and the message stays one line
    (echoed key paths and values are escaped)."""

    @FEWER
    @given(raw=CONFIGS_WITH_BREAKS)
    def test_config_never_crashes(self, site_dir, raw):
        holds(lambda: configuration.parse(raw, site_dir), one_line=True)

    @FEWER
    @given(state=STATES_WITH_BREAKS, plan=PLANS_WITH_BREAKS)
    def test_records_never_crash(self, state, plan):
        holds(lambda: read_state(state, "state.json", "shop", "test"), one_line=True)
        holds(lambda: read_plan(plan, "plan.json", "shop", "test"), one_line=True)


# -- release strings ----------------------------------------------------------------------------

RELEASES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=140) | st.sampled_from(
    ["1.0.0", "-1", "1.0 ", " 1.0", "1.0\n", "a" * 128, "a" * 129, "v2\x00", "\x85x", "é", "--force"])


class TestRelease:
    """--version: any string is a usable release, or a UsageError (exit 2)."""

    @FEW
    @given(release=RELEASES | st.none())
    def test_check_release(self, release):
        result = holds(lambda: check_release(release))
        if not isinstance(result, BluegreenError):
            assert result == release and release.strip() == release and not release.startswith("-")

    @FEWER
    @given(release=RELEASES.filter(lambda r: r and "\x00" not in r))  # argv cannot hold a NUL
    def test_deploy_with_any_release(self, stage_dir, capsys, release):
        cli_holds(capsys, ["-c", str(stage_dir / "bluegreen.toml"), "--out", str(stage_dir / "out"),
                           "deploy", "--stage", "test", f"--version={release}"])


# -- the Varnish admin protocol reader ----------------------------------------------------------

class OneShotAdmin:
    """A listening socket that sends one payload to the first client, then EOF, and reads until
    the client closes (so no reset loses what was sent)."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.address = Address("127.0.0.1", self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.sendall(self.payload)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    def close(self):
        self.sock.close()
        self.thread.join(10)


def reply(status, body: bytes, length=None, end=b"\n") -> bytes:
    length = len(body) if length is None else length
    return f"{status} {length}".encode()[:12].ljust(12) + b"\n" + body + end


AUTH_OK = reply(200, b"-----------------------------\nVarnish Cache CLI 1.0\n"
                     b"-----------------------------\nLinux,6.1.0,x86_64,-jnone,-smalloc\n"
                     b"varnish-7.1.1 revision 7cee1c581bead20e88d101ab3d72afb29f14d87a\n\n"
                     b"Type 'help' for command list.\n")
OPENED = reply(107, b"a" * 32 + b"\n\nAuthentication required.\n") + AUTH_OK
VERSIONS = st.sampled_from([b"varnish-7.1.1 revision x", b"varnish-6.0.1 revision x", b"varnish-6.0.2",
                            b"varnish-plus-6.0.10r1", b"varnish-99999999999999999999.0.0", b"varnish-",
                            b"varnish-\xd9\xa1.2.3", b"varnish-1.2"])
ASCII_CHALLENGE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=40)
VCL_ENTRY = st.fixed_dictionaries({}, optional={
    "name": TEXT | JSON_VALUES, "status": st.sampled_from(["active", "available", "discarded", 1, None]),
    "state": st.sampled_from(["warm", "cold", "auto", ""]), "labels": JSON_VALUES})
VCL_LIST = st.lists(VCL_ENTRY | JSON_VALUES, max_size=4).map(
    lambda xs: json.dumps([2, ["vcl.list", "-j"], 1.0, *xs]).encode())
BACKENDS = st.dictionaries(TEXT, st.fixed_dictionaries({}, optional={
    "probe_message": st.sampled_from(["healthy", "sick", "0/3"]) | JSON_VALUES}) | JSON_VALUES,
    max_size=3).map(lambda d: json.dumps([2, ["backend.list"], 1.0, d]).encode())
BODIES = (VCL_LIST | BACKENDS | st.binary(max_size=80) | JSON_VALUES.map(lambda v: json.dumps(v).encode())
          | st.sampled_from([b"", b"[]", b"{}", b"[{}]", b"\xff\xfe", b"Child in state running"]))
# Known bugs (HOSTILE, fixed): an answer that is JSON nested too deep, and a version in the auth
# reply with more than 4300 digits. known_admin_bug() leaves both out.
WELL_FORMED = st.builds(reply, st.sampled_from([200, 200, 200, 200, 101, 106, 107, 201, 300, 500]),
                        BODIES | VERSIONS)
BROKEN = st.one_of(
    st.builds(reply, st.sampled_from([200, 107, 999, 0, -1]), BODIES,
              st.sampled_from([0, 1, 7, 99999999, -5, "abc", "", "1_0", " 12"]),
              st.sampled_from([b"\n", b"", b"x", b"\n\n"])),
    st.binary(max_size=20))
REPLY = st.one_of(WELL_FORMED, WELL_FORMED, WELL_FORMED, BROKEN)
BANNER = st.one_of(
    st.just(reply(200, b"-----------------------------\nVarnish Cache CLI 1.0")),
    st.builds(reply, st.just(107), ASCII_CHALLENGE.map(str.encode)),
    st.builds(reply, st.just(107), st.binary(min_size=32, max_size=40)),
    st.builds(reply, st.sampled_from([200, 300, 101]), st.binary(max_size=40)),
    st.binary(max_size=30))
AUTH = st.one_of(st.just(AUTH_OK), st.just(AUTH_OK), WELL_FORMED, BROKEN)
CONVERSATIONS = st.tuples(st.one_of(BANNER, st.builds(reply, st.just(107), ASCII_CHALLENGE.map(str.encode))),
                          AUTH, st.lists(REPLY, max_size=5)).map(lambda t: t[0] + t[1] + b"".join(t[2]))


def known_admin_bug(payload: bytes) -> bool:
    """Whether `payload` holds a reply that meets a known bug of the reader: a body that is JSON
    nested too deep, or a version of more than 4300 digits. Framed as VarnishAdmin frames replies,
    and checked on every reply (a little more than the reader would reach), so that the general
    properties leave exactly these cases to HOSTILE."""
    buf = payload
    while len(buf) >= 13:
        header, buf = buf[:13], buf[13:]
        try:
            length = int(header[4:12])
        except ValueError:
            return False
        if length < 0 or len(buf) < length + 1:
            return False
        body, buf = buf[:length], buf[length + 1:]
        text = body.decode("utf-8", "replace")
        if _too_deep(text) or re.search(r"varnish-(?:plus-)?\d{4300}", text):
            return True
    return False


def _too_deep(text: str) -> bool:
    try:
        json.loads(text)
    except RecursionError:
        return True
    except ValueError:
        return False
    return False


def converse(payload: bytes, timeout: float = 2.0) -> list:
    """Open, authenticate and ask the usual questions of a fake admin port sending `payload`."""
    server = OneShotAdmin(payload)
    admin = VarnishAdmin(server.address, b"secret\n", timeout=timeout)
    outcomes = []
    try:
        for ask in (admin.open, lambda: admin.call("ping", check=False), admin.vcl_list,
                    lambda: admin.backend_list("vcl.*"), admin.active_vcl):
            outcome = holds(ask)
            outcomes.append(outcome)
            if isinstance(outcome, BluegreenError):
                break
    finally:
        admin.close()
        server.close()
    return outcomes


class TestAdminProtocol:
    """Any bytes from an admin port: the reader answers, or raises a VarnishError (exit 3 or 2)."""

    def test_the_known_bug_filter(self):
        deep = reply(200, b"[" * 100000)
        assert known_admin_bug(OPENED + reply(200, b"PONG") + deep)
        assert known_admin_bug(reply(107, b"a" * 32) + reply(200, b"varnish-" + b"9" * 5000 + b".0.0"))
        assert not known_admin_bug(OPENED + reply(200, b"PONG") + reply(200, b"[[1]]"))
        assert not known_admin_bug(b"garbage" + deep)  # the reader stops at the garbage

    def test_a_well_behaved_port(self):
        body = b'[2, ["vcl.list", "-j"], 1.0, {"name": "v1", "status": "active"}]'
        payload = (OPENED + reply(200, b"PONG") + reply(200, body)
                   + reply(200, b'[2, [], 1.0, {"v1.b": {"probe_message": [3, 3, "healthy"]}}]')
                   + reply(200, body))
        outcomes = converse(payload)
        assert outcomes[2] == [{"name": "v1", "status": "active"}]
        assert outcomes[3] == {"v1.b": "healthy"} and outcomes[4] == "v1"

    @pytest.mark.parametrize("payload", [
        reply(107, "é".encode() * 16),  # a challenge that is not ASCII
        reply(200, b"welcome"),  # no authentication asked: not a varnishd with -S
        OPENED + reply(200, b"PONG") + reply(200, b"null"),  # vcl.list answered JSON, not a list
        OPENED + reply(200, b"PONG") + reply(200, b"7"),
        reply(107, b"a" * 32) + reply(200, b"varnish-6.0.1 revision x"),  # too old
        OPENED + reply(200, b"PONG") + reply(200, b"[]") + reply(106, b"invalid flags") + b"\x00" * 13,
    ], ids=["challenge-not-ascii", "no-auth", "json-null", "json-number", "varnish-6.0.1",
            "plain-backend-list-garbage"])
    def test_hostile_ports_found_earlier(self, payload):
        outcomes = converse(payload)
        assert isinstance(outcomes[-1], BluegreenError)

    @FEW
    @given(payload=st.binary(max_size=120))
    def test_any_bytes(self, payload):
        assume(not known_admin_bug(payload))
        converse(payload)

    @FEW
    @given(payload=CONVERSATIONS)
    def test_any_conversation(self, payload):
        assume(not known_admin_bug(payload))
        converse(payload)

    @FEW
    @given(answers=st.lists(st.builds(reply, st.sampled_from([200, 200, 200, 300]), BODIES),
                            min_size=3, max_size=3))
    def test_any_answers_to_vcl_list_and_backend_list(self, answers):
        payload = OPENED + reply(200, b"PONG") + b"".join(answers)
        assume(not known_admin_bug(payload))
        outcomes = converse(payload)
        assert len(outcomes) >= 3  # open and ping answered; vcl.list was read

    @FEWER
    @given(payload=CONVERSATIONS, cut=st.integers(0, 200))
    def test_any_conversation_cut_short(self, payload, cut):
        assume(not known_admin_bug(payload[:cut]))
        converse(payload[:cut])


# -- known bugs, each with its minimal failing example ------------------------------------------

def _config_with(site_dir: Path, **tables) -> Path:
    raw = json.loads(json.dumps(BASE_CONFIG))
    for dotted, value in tables.items():
        table, key = dotted.rsplit("__", 1)
        raw.setdefault(table, {})[key] = value
    path = site_dir / "bluegreen.toml"
    path.write_text(toml_document(raw))
    return path


HOSTILE = {  # each once crashed a reader (found by these properties), now fixed
    # readers.number: math.isfinite(10**400) raises OverflowError
    "config: checks.timeout_s = 10**400 (readers.py)":
        lambda d: configuration.load(_config_with(d, checks__timeout_s=10**400)),
    # readers.file_path: Path.is_file raises OSError(ENAMETOOLONG), not caught
    "config: vcl.template = 'a' * 300 (readers.py)":
        lambda d: configuration.load(_config_with(d, vcl__template="a" * 300)),
    # config._parse_toml: tomllib recurses per nesting level; RecursionError is not caught
    "config: a = [[[...]]] nested 2000 deep (config.py)":
        lambda d: configuration.load(_write(d / "deep.toml", "a = " + "[" * 2000 + "]" * 2000)),
    # config._parse_toml: tomllib raises ValueError (int digit limit), not TOMLDecodeError
    "config: a = <5000 digits> (config.py)":
        lambda d: configuration.load(_write(d / "digits.toml", "a = " + "9" * 5000)),
    # config.parse_address puts the raw value in the message: a newline makes it two lines
    "config: blue = ['a\\nb'] gives a two-line message (config.py)":
        lambda d: configuration.load(_config_with(d, stages__test={
            "varnish": ["127.0.0.1:1"], "blue": ["a\nb"], "green": ["127.0.0.1:4"]})),
    # readers.only echoes the unknown key raw: a quoted TOML key with a newline splits the message
    "config: \"a\\nb\" = 1 gives a two-line message (readers.py)":
        lambda d: configuration.load(_write(d / "key.toml", '"a\\nb" = 1\n')),
    # records: the key path 'colors.<key>' is echoed raw
    "state: colors = {\"\\n\": null} gives a two-line message (records.py)":
        lambda d: read_state({**STATE, "colors": {"\n": None}}, "s", "shop", "test"),
    # records._number: math.isfinite(10**400) raises OverflowError
    "state: switch.window_ms = 10**400 (records.py)":
        lambda d: read_state({**STATE, "switch": {"window_ms": 10**400}}, "s", "shop", "test"),
    # records._major: int() of more than 4300 digits raises ValueError
    "state: bluegreen_version = '9' * 5000 (records.py)":
        lambda d: read_state({**STATE, "bluegreen_version": "9" * 5000}, "s", "shop", "test"),
    # varnish._parse_json: json.loads recursion on a deeply nested answer is not caught
    "admin: vcl.list -j answered with 100000 '[' (varnish.py)":
        lambda d: converse(OPENED + reply(200, b"PONG") + reply(200, b"[" * 100000)),
    # varnish._version: int() of more than 4300 digits raises ValueError
    "admin: the auth reply names varnish-<5000 digits>.0.0 (varnish.py)":
        lambda d: converse(reply(107, b"a" * 32) + reply(200, b"varnish-" + b"9" * 5000 + b".0.0")),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


class TestHostile:
    """The inputs the properties above once found to crash a reader, each kept as a plain case."""

    @pytest.mark.parametrize("case", list(HOSTILE))
    def test_hostile_case(self, site_dir, case):
        """Each input a property found to crash a reader once: now refused with one clear line."""
        holds(lambda: HOSTILE[case](site_dir))


# -- the newer features' inputs (issue 24) ------------------------------------------------------
#
# Every file and answer compare, watch, status and the log helper read, with arbitrary text and
# structure: no internal error, no secret in any output or file, every wait within its bound.
# A secret is marked at both ends (Zq7...Qz9): a leak of any end of it is found.

def leaked(text: str) -> bool:
    return "Zq7" in text or "Qz9" in text


def outputs(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


SECRET_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8).map(
    lambda t: f"Zq7{t}Qz9")
CREDENTIALS = st.builds(lambda name, value: f"{name}: Bearer {value}",
                        st.sampled_from(["Authorization", "Cookie", "X-Api-Key", "Proxy-Authorization"]),
                        SECRET_TEXT.filter(lambda s: s.isprintable() and " " not in s))
HOSTILE_LINES = st.one_of(
    st.text(max_size=60),
    st.builds(lambda m, t, h: " ".join([m, t, *h]),
              st.sampled_from(["GET", "HEAD", "POST", "get", "\ufeffGET", "PROPFIND", "G"]),
              st.sampled_from(["/", "/a?b=1", "/a b", "a", "/€", "/?_method=DELETE", "/" + "x" * 100]),
              st.lists(st.one_of(CREDENTIALS, st.sampled_from([
                  "Accept: text/html", "X-HTTP-Method-Override: DELETE", "X-Test: 10€", "Host: a",
                  "Content-Length: 1", "X-Bluegreen-Color: green", "noheader", "X-Name: José",
                  "X-Empty:"])), max_size=3)))
GOOD_LINES = st.builds(lambda m, t, h: " ".join([m, t, *h]), st.sampled_from(["GET", "HEAD"]),
                       st.sampled_from(["/", "/a?b=1", "/api/products/1", "/?_method=GET"]),
                       st.lists(CREDENTIALS | st.sampled_from(["Accept: text/html", "X-Name: José"]),
                                max_size=2))
REQUESTS_FILES = st.one_of(
    st.builds(lambda good, secret, bad: "\n".join([*good, f"GET /account {secret}", *bad]),
              st.lists(GOOD_LINES, max_size=3), CREDENTIALS, st.lists(HOSTILE_LINES, max_size=1)),
    st.lists(HOSTILE_LINES, max_size=5).map("\n".join),
    st.sampled_from(["\ufeffGET /a\n", "GET /a\n" * 2]))


class TestRequestsFiles:
    """compare.requests: any text is requests or one clear line naming the file; a credential
    header's value is in no message and no test name."""

    @FEWER
    @given(text=REQUESTS_FILES)
    def test_parse_any_requests_file(self, text):
        found = holds(lambda: parse_requests(text, "r.txt", allow_unsafe=False))
        if isinstance(found, BluegreenError):
            assert found.message.startswith("r.txt") and not leaked(found.message)
        else:
            labels = " ".join(r.label for r in found.send + found.skipped)
            assert not leaked(labels) and all(r.safe for r in found.send)

    @FEWER
    @given(text=REQUESTS_FILES)
    def test_compare_with_any_requests_file(self, compare_stage, text):
        """Through the CLI against a front that answers every color alike: exit 0 to 3; exit 2
        before anything is sent; no secret in any output or file."""
        stage, front = compare_stage
        (stage.root / "requests.txt").write_text(text, encoding="utf-8")
        sent = len(front.requests)
        run = stage.cli("compare", "--stage", "test")
        assert run.code in (0, 1, 2, 3) and "internal error" not in run.err, run.text
        if run.code == 2:
            assert len(front.requests) == sent, "nothing is sent for a file that is refused"
        assert not leaked(run.text + outputs(stage.out))


@pytest.fixture
def compare_stage(stage):
    """A FakeStage staged for compare, its one front a scripted one answering every color alike."""
    from tests.helpers.scripted_http import ScriptedHTTP, preview_front
    from tests.helpers.stages import stage_next

    stage_next(stage)
    with ScriptedHTTP(preview_front) as front:
        stage.write_config(f'front = ["{front.address}"]\n\n[compare]\nrequests = "requests.txt"\n'
                           "timeout_s = 2\n")
        yield stage, front


EXPECTED = {"change": [{"path": "/api/products/*", "field": "price", "reason": "new prices"}]}


class TestExpectedChangesFiles:
    """compare.expected: any TOML structure or text is changes or one clear line (exit 2)."""

    @FEWER
    @given(data=mutated(EXPECTED, {"": ["change"]}, TOML_VALUES) | TOML_VALUES.map(lambda v: {"change": v}))
    def test_any_structure(self, data):
        holds(lambda: parse_expected(toml_document(data), "e.toml"))

    @FEWER
    @given(text=st.text(max_size=200) | st.sampled_from(["a = " + "[" * 3000, "[[change]]\n" * 2000,
                                                         "a = {b = " * 2000, "a = " + "9" * 5000]))
    def test_any_text(self, text):
        holds(lambda: parse_expected(text, "e.toml"))


PROM_ANSWER = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"color": "green"}, "value": [1.0, "12"]},
    {"metric": {"color": "green"}, "value": [1.0, "3"]}]}}
PROM_KEYS = {"": ["status", "data", "errorType", "error"], "data": ["resultType", "result"]}
PROM_BODIES = st.one_of(
    mutated(PROM_ANSWER, PROM_KEYS, JSON_VALUES | st.sampled_from(
        ["vector", "scalar", "matrix", [1.0, "-1"], [[1.0, "1e308"]], "bad_data"])).map(as_json),
    JSON_VALUES.map(as_json), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.integers(1, 2000).map(lambda n: '{"status": "success", "data": ' + "[" * n + "]" * n + "}"))
PROM_PASSWORD = "Zq7 p@ss%Qz9"
PROM_USERINFO = "watcher:Zq7%20p%40ss%25Qz9"


def prometheus_settings(url: str, **keys):
    from bluegreen.config import optional

    return optional.watch({"prometheus": url, "timeout_s": 0.3, **keys})


class TestPrometheusAnswers:
    """Any answer from Prometheus is a number, no series, a MetricsError or a ConfigError (exit
    2 or 3), within watch.timeout_s, and never shows the credentials."""

    @FEWER
    @given(body=PROM_BODIES, status=st.sampled_from([200, 200, 400, 422, 503]))
    def test_any_answer(self, body, status):
        from bluegreen.watch.prometheus import PrometheusSource
        from tests.helpers.scripted_http import ScriptedHTTP, answer

        with ScriptedHTTP(answer(status, body)) as server:
            prom = PrometheusSource(prometheus_settings(f"http://{PROM_USERINFO}@{server.address}"),
                                    "test")
            start = time.monotonic()
            found = holds(lambda: prom.query("requests_query", "sum(x)", None))
            assert time.monotonic() - start < 0.3 + 2
        if isinstance(found, BluegreenError):
            assert found.exit_code in (2, 3) and not leaked(found.message)
        else:
            assert found is None or 0 <= found < math.inf

    @settings(FEWER, max_examples=8)
    @given(pace=st.floats(0.02, 0.1), size=st.integers(1, 400), cut=st.integers(0, 400))
    def test_every_query_ends_within_its_timeout(self, pace, size, cut):
        """A Prometheus that trickles any answer at any pace, or stops half-way."""
        from bluegreen.watch.prometheus import PrometheusSource
        from tests.helpers.scripted_http import ScriptedHTTP, answer

        payload = answer(200, as_json(PROM_ANSWER) + " " * size)[:cut + 150]  # unbounded: 3 s or more
        with ScriptedHTTP(payload, pace=pace) as server:
            prom = PrometheusSource(prometheus_settings(server.url), "test")
            start = time.monotonic()
            holds(lambda: prom.query("requests_query", "sum(x)", None))
            assert time.monotonic() - start < 0.3 + 2

    @settings(FEWER, max_examples=6)
    @given(body=PROM_BODIES)
    def test_watch_with_any_answer(self, watch_stage, body):
        """The whole step: exit 0 to 3, within its seconds and timeouts, no credential shown
        in its output, state.json, report.html or junit-watch.xml."""
        from tests.helpers.scripted_http import answer

        stage, server, state = watch_stage
        (stage.out / "test" / "state.json").write_text(state)  # not watched yet
        server.payload = answer(200, body)
        start = time.monotonic()
        run = stage.cli("--json", "watch", "--stage", "test")
        assert time.monotonic() - start < 1 + 4 * 0.3 + 5
        assert run.code in (0, 1, 2, 3) and "internal error" not in run.err, run.text
        assert not leaked(run.text + outputs(stage.out))


@pytest.fixture
def watch_stage(stage):
    """A FakeStage with green live after blue, watched from a scripted Prometheus for one second
    with credentials in its URL; and its state.json before any watch. A share of 100% passes
    (max_error_rate = 1), so no watch rolls back and each example starts from that state."""
    from tests.helpers.scripted_http import ScriptedHTTP

    stage.release("1.0.0")
    stage.release("1.1.0")
    with ScriptedHTTP() as server:
        stage.write_config(f'\n[watch]\nprometheus = "http://{PROM_USERINFO}@{server.address}"\n'
                           "seconds = 1\ninterval_s = 1\ntimeout_s = 0.3\nmin_requests = 1\n"
                           "max_error_rate = 1.0\n")
        yield stage, server, (stage.out / "test" / "state.json").read_text()


V7_DOC = {"version": 1, "counters": {
    "VBE.shop_test_blue_1.blue_127_0_0_1_9101.req": {"flag": "c", "value": 10},
    "VBE.shop_test_blue_1.blue_127_0_0_1_9101.fail_econnrefused": {"flag": "c", "value": 2},
    "VBE.shop_test_blue_1.green_127_0_0_1_9201.busy": {"flag": "c", "value": 1}}}
STAT_KEYS = {"": ["version", "counters", "timestamp"],
             "counters": list(V7_DOC["counters"]) + ["VBE.shop_test_blue_1.blue_x.req", "MAIN.uptime"]}
STAT_OUTPUTS = st.one_of(mutated(V7_DOC, STAT_KEYS, JSON_VALUES).map(as_json), JSON_VALUES.map(as_json),
                         st.text(max_size=120), st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
                         st.integers(1, 100_000).map(lambda n: "[" * n))


class TestVarnishstatOutput:
    """status' counters: any stat_command output is counters or a fault on that instance's line,
    printed without a raw control character."""

    @FEWER
    @given(text=STAT_OUTPUTS)
    def test_per_color(self, text):
        from bluegreen.varnish import stats

        try:
            found = stats.per_color(text, "shop_test_blue_1")
        except (ValueError, RecursionError):
            return
        assert all(isinstance(n, int) and n >= 0 for c in found.values() for n in c.values())

    @FEWER
    @given(text=STAT_OUTPUTS)
    def test_status_with_any_output(self, counters_stage, text):
        counters_stage.out_file.write_text(text, encoding="utf-8", errors="surrogatepass")
        run = counters_stage.cli("status", "--stage", "test")
        assert run.code == 0 and "counters: " in run.out, run.text
        assert not any(ord(ch) < 0x20 and ch != "\n" or 0x7F <= ord(ch) < 0xA0 for ch in run.text)


@pytest.fixture
def counters_stage(stage):
    """A FakeStage with 1.0.0 live, its counters read by `cat FILE` (what the test writes)."""
    stage.release("1.0.0")
    stage.out_file = stage.root / "varnishstat.json"
    stage.out_file.write_text("{}")
    stage.write_config(f'\n[status]\nstat_command = ["cat", "{stage.out_file}"]\n')
    return stage


NCSA = '127.0.0.1 - - [08/Dec/2026:10:00:00 +0000] "{method} {url} HTTP/1.1" 200 5 "-" "curl"'
PRINTABLE_ASCII = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
NCSA_URLS = (st.text(PRINTABLE_ASCII, max_size=30).map(lambda t: "/" + t)
             | st.sampled_from(["http://[::1/x", "http://h/a?b=1", "//x", "/a#b", "*"]))
NCSA_LINES = st.one_of(
    st.text(max_size=80),
    st.builds(lambda m, u: NCSA.format(method=m, url=u), st.sampled_from(["GET", "HEAD", "POST", "GE T"]),
              NCSA_URLS),
    st.builds(lambda name, secret: NCSA.format(method="GET", url=f"/cb?x=1&{name}={secret}"),
              st.sampled_from(["code", "state", "access_token", "apiKey", "sessionId", "X-Amz-Signature",
                               "password", "nonce", "SAMLResponse", "id_token", "auth"]),
              st.text(st.characters(min_codepoint=0x30, max_codepoint=0x7A), max_size=6).map(
                  lambda t: f"Zq7{t}Qz9")))


WATCH_LINES = st.one_of(
    st.text(max_size=40),
    st.builds(lambda code, color, site: f"{code}:{color}:{site}",
              st.sampled_from(["200", "503", "404", "-", "99999999999999999999", "", "2OO"]),
              st.sampled_from(["green", "blue", "", "red", "green:green"]),
              st.sampled_from(["shop/test", "other/test", "", "shop/prod", "shop/test/x"])))
FAKE_NCSA = """
import sys, time
sys.stdout.write(open(sys.argv[1], encoding="utf-8", errors="replace").read())
sys.stdout.flush()
time.sleep(30)
"""


class TestVarnishncsaOutput:
    """python -m bluegreen.requests_from_log: any log is a requests file compare accepts (exit 0)
    or one line (exit 2); a credential in a query string never reaches the file."""

    @FEWER
    @given(lines=st.lists(NCSA_LINES, max_size=8))
    def test_any_log(self, tmp_path, capsys, lines):
        from bluegreen.compare import harvest

        log, out = tmp_path / "access.log", tmp_path / "requests.txt"
        log.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        out.unlink(missing_ok=True)
        capsys.readouterr()
        code = harvest.main([str(log), "-o", str(out)])
        err = capsys.readouterr().err
        assert code in (0, 2) and len(err.strip().splitlines()) == 1, err
        if code == 0:
            written = out.read_text()
            assert not leaked(written + err)
            parse_requests(written, "requests.txt")

    @settings(FEWER, max_examples=3)
    @given(lines=st.lists(WATCH_LINES, max_size=12))
    def test_watch_with_any_log(self, log_stage, lines):
        """watch's Varnish source reading any log: exit 0, 1 or 3 within watch.seconds and the
        reader's stop, never an internal error."""
        stage, log, state = log_stage
        (stage.out / "test" / "state.json").write_text(state)
        log.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        start = time.monotonic()
        run = stage.cli("--json", "watch", "--stage", "test")
        assert time.monotonic() - start < 1 + 8
        assert run.code in (0, 1, 3) and "internal error" not in run.err, run.text


@pytest.fixture
def log_stage(stage):
    """A FakeStage with green live after blue, watched for one second from a stand-in for
    varnishncsa that prints LOG (what the test writes) and waits; its state.json before any
    watch (max_error_rate = 1: no watch rolls back)."""
    import sys

    stage.release("1.0.0")
    stage.release("1.1.0")
    script, log = stage.root / "fake_ncsa.py", stage.root / "access.log"
    script.write_text(FAKE_NCSA)
    log.write_text("")
    argv = json.dumps([sys.executable, str(script), str(log)])
    stage.write_config(f'\n[watch]\nsource = "varnish"\nlog_command = {argv}\nseconds = 1\n'
                       "interval_s = 1\nmin_requests = 1\nmax_error_rate = 1.0\n")
    return stage, log, (stage.out / "test" / "state.json").read_text()


@st.composite
def configs_with_secrets(draw) -> dict:
    """The base config with a password (any text) in schema.database and watch.prometheus, and
    up to three other keys changed."""
    raw = draw(mutated(BASE_CONFIG, CONFIG_KEYS, TOML_VALUES))
    if not isinstance(raw.get("schema"), dict):
        raw["schema"] = {}
    if not isinstance(raw.get("watch"), dict):
        raw["watch"] = {}
    host = draw(st.sampled_from(["127.0.0.1:1", "[::1]:1", "[::1", "h/db", ""]))
    raw["schema"].update(expand=["./x"], database=f"postgresql://shop:{draw(SECRET_TEXT)}@{host}/shop")
    raw["watch"]["prometheus"] = draw(st.sampled_from(["http://", "https://", "", "ftp://"])) \
        + f"watcher:{draw(SECRET_TEXT)}@{host}"
    return raw


class TestSecretsInTheConfig:
    """Passwords in schema.database and watch.prometheus, whatever they hold and whatever else
    the config gets wrong, are in no message."""

    @FEWER
    @given(raw=configs_with_secrets())
    def test_load(self, site_dir, raw):
        path = site_dir / "bluegreen.toml"
        path.write_text(toml_document(raw), encoding="utf-8")
        found = holds(lambda: configuration.load(path))
        if isinstance(found, BluegreenError):
            assert not leaked(found.message), found.message
        else:
            assert not leaked(repr(found.watch)), "the config's repr holds no credentials"

    @FEWER
    @given(raw=configs_with_secrets())
    def test_the_cli(self, site_dir, capsys, raw):
        path = site_dir / "bluegreen.toml"
        path.write_text(toml_document(raw), encoding="utf-8")
        capsys.readouterr()
        cli_holds(capsys, ["-c", str(path), "--out", str(site_dir / "out"), "status", "--stage", "x"])
        assert not leaked("".join(capsys.readouterr()))

    @FEWER
    @given(password=SECRET_TEXT.filter(lambda p: "\x00" not in p),
           host=st.sampled_from(["127.0.0.1:1", "[::1", "h:x", ""]))
    def test_the_catalogue_command(self, capsys, password, host):
        """`python -m bluegreen.catalogue URL` (the driver tries 127.0.0.1:1, where nothing listens)."""
        from bluegreen.schema import catalogue

        pytest.importorskip("psycopg")
        capsys.readouterr()
        code = catalogue.main([f"postgresql://shop:{password}@{host}/shop"])
        err = capsys.readouterr().err
        assert code in (2, 3) and not leaked(err) and len(err.strip().splitlines()) == 1, err
