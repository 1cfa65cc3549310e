"""Hostile input to the newer features (issue 24), each defect a case: secrets in database and
metrics URLs, requests and expected-changes files, garbage from Prometheus and stat_command.
Steps run through `bluegreen.cli.main` on a FakeStage; Prometheus is a scripted fake on loopback.
The same files with arbitrary content: tests/unit/test_properties.py."""

from __future__ import annotations

import json
import sys

import pytest

from bluegreen.compare import harvest
from bluegreen.compare.requests import Request, parse_expected, parse_requests, read_text
from bluegreen.errors import ConfigError, MigrationError, UsageError
from bluegreen.schema import catalogue
from tests.helpers.scripted_http import ScriptedHTTP, prometheus

PASSWORD = "Zq7 s3cr@t%zz"
SHAPES = {  # item 1: a driver quotes what it cannot parse, password included
    "an unterminated IPv6 host": "postgresql://shop:Zq7s3crt@[::1/shop",
    "a space in the password": "postgresql://shop:Zq7 s3crt@127.0.0.1:1/shop",
    "an @ in the password": "postgresql://shop:Zq7s3cr@t@127.0.0.1:1/shop",
    "a bad % escape": "postgresql://shop:Zq7s3crt%zz@127.0.0.1:1/shop",
}


def leaks(text: str) -> bool:
    """Whether any piece of the test passwords shows in `text`."""
    return any(piece in text for piece in ("Zq7", "s3cr", "3crt", "%zz"))


def outputs(stage) -> str:
    return "".join(p.read_text(errors="replace") for p in stage.out.rglob("*") if p.is_file())


class TestDatabaseUrl:
    """schema.database with a password a driver would misread: exit 2, the URL scrubbed, before
    anything is deployed; the same from `python -m bluegreen.catalogue URL`."""

    @pytest.mark.parametrize("shape", list(SHAPES))
    def test_the_catalogue_command(self, capsys, shape):
        code = catalogue.main([SHAPES[shape]])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("bluegreen.catalogue: schema.database: postgresql://shop:***@")
        assert not leaks(err) and len(err.strip().splitlines()) == 1

    @pytest.mark.parametrize("shape", list(SHAPES))
    def test_deploy_refuses_before_anything_moves(self, stage, shape):
        """The configuration itself is refused: no step gets as far as a driver."""
        stage.release("1.0.0")
        stage.ok("passive", "--stage", "test")
        expand = json.dumps([sys.executable, "-c", "pass"])
        stage.write_config(f'\n[schema]\nexpand = {expand}\ndatabase = "{SHAPES[shape]}"\n')
        mark, deployed = stage.mark(), stage.deployed()
        run = stage.cli("deploy", "--stage", "test", "--version", "1.1.0")
        assert run.code == 2 and "schema.database: postgresql://shop:***@" in run.err, run.text
        assert not leaks(run.text + outputs(stage))
        assert stage.changes_since(mark) == [] and stage.deployed() == deployed

    @pytest.mark.parametrize("url", ["postgresql://shop:Zq7/s3crt@127.0.0.1:1/shop",
                                     "postgresql://shop:Zq7[s3crt@127.0.0.1:1/shop",
                                     "postgresql://shop:Zq7s3crt@127.0.0.1:1/shop\n"])
    def test_more_shapes_a_driver_would_misread(self, url):
        """A '/' in the password makes libpq read 'Zq7' as a port and quote it back."""
        with pytest.raises(ConfigError) as err:
            catalogue.read_url(url)
        assert not leaks(err.value.message) and len(err.value.message.splitlines()) == 1

    def test_what_the_driver_says_is_scrubbed(self):
        pytest.importorskip("psycopg")
        with pytest.raises(MigrationError) as err:  # nothing listens on port 1
            catalogue.read_url("postgresql://shop:Zq7s3crt@127.0.0.1:1/shop?password=Zq7other")
        assert not leaks(err.value.message) and "shop:***@127.0.0.1:1" in err.value.message

    def test_scrub(self):
        assert catalogue.scrub("a postgresql://u:Zq7 s3cr@t@h/db b") == "a postgresql://u:***@h/db b"
        assert catalogue.scrub("host=h password=Zq7s3crt user=u") == "host=h password=*** user=u"


class TestPrometheusSecrets:
    """watch.prometheus with user:password@ against a Prometheus answering garbage: the watch
    rolls back (on_source_error), and the password is in no output, record, report or JUnit."""

    def test_garbage_rolls_back_and_nothing_shows_the_password(self, stage):
        stage.release("1.0.0")
        stage.release("1.1.0")
        with ScriptedHTTP(prometheus([1, 2])) as server:
            url = f"http://watcher:Zq7%20s3crt%40x@{server.address}"
            stage.write_config(f'\n[watch]\nprometheus = "{url}"\nseconds = 1\ninterval_s = 1\n'
                               'on_source_error = "rollback"\n')
            run = stage.cli("--json", "watch", "--stage", "test")
            assert server.requests[0]["authorization"].startswith("Basic ")
        assert run.code == 3 and "answered requests_query with garbage" in run.err, run.text
        assert "rolled back to blue (watch.on_source_error)" in run.err
        assert stage.state()["live"] == "blue" and stage.state()["watch"]["exit"] == 3
        assert (stage.out / "test" / "junit-watch.xml").exists()
        assert not leaks(run.text + outputs(stage))


class TestRequestsFile:
    """What a requests file may not hold is exit 2 before anything is sent (items 8 and 12)."""

    @pytest.mark.parametrize("text, words", [
        ("GET /a X-Test: 10€\n", "the value of X-Test holds '€' (U+20AC)"),
        ("GET /a X-Zero: a\ufeffb\n", "U+FEFF"),
    ])
    def test_header_values_http_cannot_carry(self, text, words):
        with pytest.raises(UsageError) as err:
            parse_requests(text, "r.txt")
        assert err.value.message.startswith("r.txt line 1: ") and words in err.value.message

    def test_latin1_is_carried(self):
        assert parse_requests("GET /a X-Name: José\n", "r.txt").send[0].headers == (("X-Name", "José"),)

    def test_a_byte_order_mark(self, tmp_path):
        path = tmp_path / "requests.txt"
        path.write_text("\ufeffGET /a\n", encoding="utf-8")
        with pytest.raises(UsageError) as err:
            read_text(path, "compare.requests")
        assert "starts with a byte order mark (BOM)" in err.value.message

    @pytest.mark.parametrize("line", [
        "GET /a X-HTTP-Method-Override: DELETE", "HEAD /a X-HTTP-Method: PUT",
        "GET /a x-method-override: post", "GET /a?_method=DELETE&x=1",
    ])
    def test_a_method_override_is_unsafe(self, line):
        got = parse_requests(f"GET /b\n{line}\n", "r.txt")
        assert [str(r) for r in got.send] == ["GET /b"] and len(got.skipped) == 1

    def test_an_override_to_a_safe_method_is_safe(self):
        assert parse_requests("GET /a X-HTTP-Method-Override: GET\n", "r.txt").send

    def test_test_names_show_no_header_values(self):
        """Item 3: junit-compare.xml names requests by their label."""
        request = Request("GET", "/a", (("Accept", "application/json"), ("Authorization", "Bearer Zq7"),
                                        ("Cookie", "session=Zq7")))
        assert request.label == "GET /a Accept: application/json Authorization: *** Cookie: ***"

    def test_a_long_line_of_spaces_parses_in_linear_time(self):
        parse_requests("GET /a X: " + "a " * 4000 + "\n" + ("GET /b X:" + " " * 8000 + "y\n") * 50, "r")


class TestExpectedFile:
    """Item 10: an expected-changes file nested 3,000 deep is exit 2, not a RecursionError."""

    @pytest.mark.parametrize("text", ["a = " + "[" * 3000 + "]" * 3000,
                                      "a = " + "{b = " * 3000 + "1" + "}" * 3000,
                                      "a = " + "9" * 5000])
    def test_refused(self, text):
        with pytest.raises(UsageError) as err:
            parse_expected(text, "e.toml")
        assert err.value.message.startswith("e.toml: ") and len(err.value.message.splitlines()) == 1


STAT = '''
import sys
kind = sys.argv[1]
if kind == "deep":
    print("[" * 100000)
else:
    print("\\x1b[2J\\x1b]0;owned\\x07 bad\\rline")
    sys.exit(1)
'''


class TestStatusCounters:
    """Item 10 and 12: what stat_command prints stays on its instance's counters line, escaped."""

    @pytest.mark.parametrize("kind, words", [("deep", "did not print varnishstat's JSON"),
                                             ("control", "exit 1")])
    def test_stays_on_its_line(self, stage, kind, words):
        stage.release("1.0.0")
        script = stage.root / "stat.py"
        script.write_text(STAT)
        argv = json.dumps([sys.executable, str(script), kind])
        stage.write_config(f"\n[status]\nstat_command = {argv}\n")
        run = stage.cli("status", "--stage", "test")
        assert run.code == 0, run.text
        line = next(x for x in run.out.splitlines() if "counters:" in x)
        assert "could not read" in line and words in line
        printed = run.out + run.err
        assert not any(ord(ch) < 0x20 and ch != "\n" or ord(ch) == 0x7F for ch in printed)


class TestHarvestSignIn:
    """Item 9: a sign-in's one-time code and state never reach the requests file; a zip_code does."""

    def test_oauth_parameters(self):
        found = harvest.harvest(['127.0.0.1 - - [08/Dec/2026:10:00:00 +0000] "GET /callback?'
                                 'code=Zq7abc&state=Zq7xyz&zip_code=1010&nonce=n&SAMLResponse=s HTTP/1.1"'
                                 ' 200 5 "-" "curl"'])
        assert found.ranked() == [("GET", "/callback?zip_code=1010", 1)]
