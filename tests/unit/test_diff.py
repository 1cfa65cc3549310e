"""The decisions of compare, without any server: parsing its two files, the fields, noise, the verdict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluegreen.compare import diff
from bluegreen.compare.diff import Reply
from bluegreen.compare.requests import Change, Request, parse_expected, parse_ignore, parse_requests
from bluegreen.errors import UsageError

JSON = {"content-type": "application/json"}


def reply(body, status=200, headers=None) -> Reply:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return Reply(status, {**JSON, **(headers or {})} if not isinstance(body, bytes) else
                 (headers or {}), data)


def product(price=10, stock=5, rid="r1", at="t1"):
    return reply({"id": 1, "price": price, "stock": stock, "request_id": rid, "at": at})


GET = Request("GET", "/api/products/1")


class TestRequestsFile:
    """One request a line; safe methods only unless allowed; every fault named with its line."""

    def test_methods_paths_and_headers(self):
        got = parse_requests("# a comment\n\nGET /a\nHEAD /b?x=1 Accept: text/html, */*  X-A: 1\n",
                             "r.txt")
        assert [str(r) for r in got.send] == ["GET /a", "HEAD /b?x=1"]
        assert got.send[1].headers == (("Accept", "text/html, */*"), ("X-A", "1"))
        assert got.send[1].line == 4

    def test_unsafe_methods_are_skipped_and_counted(self):
        got = parse_requests("GET /a\nPOST /orders\nDELETE /a\n", "r.txt")
        assert [str(r) for r in got.send] == ["GET /a"]
        assert [str(r) for r in got.skipped] == ["POST /orders", "DELETE /a"]

    def test_unsafe_methods_are_sent_when_allowed(self):
        got = parse_requests("GET /a\nPOST /orders\n", "r.txt", allow_unsafe=True)
        assert [str(r) for r in got.send] == ["GET /a", "POST /orders"] and not got.skipped

    def test_duplicates_are_sent_once(self):
        assert len(parse_requests("GET /a\nGET /a\n", "r.txt").send) == 1

    @pytest.mark.parametrize("text, words", [
        ("GET\n", "line 1: 'GET' should be METHOD PATH"),
        ("get /a\n", "'get' is not an HTTP method"),
        ("GET a\n", "'a' should be a path starting with '/'"),
        ("GET /a notaheader\n", "should be headers written 'Name: value'"),
        ("GET /a Content-Length: 3\n", "Content-Length is set by compare itself"),
        ("GET /a X-Bluegreen-Color: blue\n", "picks the color"),
        ("GET /a\x00\n", "control character"),
        ("# only a comment\n", "it holds no requests"),
        ("POST /a\n", "all 1 of its requests use unsafe methods"),
    ])
    def test_faults(self, text, words):
        with pytest.raises(UsageError) as err:
            parse_requests(text, "r.txt")
        assert words in err.value.message and err.value.message.startswith("r.txt")

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=300))
    def test_any_text_gives_requests_or_a_clear_error(self, text):
        try:
            got = parse_requests(text, "r.txt")
        except UsageError as exc:
            assert exc.message.startswith("r.txt: ") or exc.message.startswith("r.txt line ")
        else:
            assert got.send and all(r.target.startswith("/") for r in got.send)


class TestExpectedFile:
    """[[change]] tables with path and field; anything else is refused with the change's number."""

    def test_changes(self):
        got = parse_expected('[[change]]\npath = "/api/products/*"\nfield = "price"\n'
                             'reason = "new prices"\n[[change]]\npath = "/a"\nfield = "header:Location"\n',
                             "e.toml")
        assert got == [Change("/api/products/*", "price", "new prices"),
                       Change("/a", "header:Location")]

    def test_empty_file_expects_nothing(self):
        assert parse_expected("", "e.toml") == []

    @pytest.mark.parametrize("text, words", [
        ("[[change]\n", "not valid TOML"),
        ("change = 1\n", "should be [[change]] tables"),
        ("[other]\n", "unknown key 'other'"),
        ('[[change]]\nfield = "x"\n', "change 1: path None"),
        ('[[change]]\npath = "a"\nfield = "x"\n', "path 'a' should be a path"),
        ('[[change]]\npath = "/a*b"\nfield = "x"\n', "at most one '*', at the end"),
        ('[[change]]\npath = "/a"\n', "field None should be a JSON dotted path"),
        ('[[change]]\npath = "/a"\nfield = "a..b"\n', "field 'a..b'"),
        ('[[change]]\npath = "/a"\nfield = "x"\ncolour = 1\n', "unknown key 'colour'"),
    ])
    def test_faults(self, text, words):
        with pytest.raises(UsageError) as err:
            parse_expected(text, "e.toml")
        assert words in err.value.message, err.value.message

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200))
    def test_any_text_gives_changes_or_a_clear_error(self, text):
        try:
            got = parse_expected(text, "e.toml")
        except UsageError as exc:
            assert exc.message.startswith("e.toml")
        else:
            assert all(isinstance(c, Change) for c in got)

    def test_path_patterns(self):
        assert Change("/api/*", "x").matches_path("/api/products/1?y=2")
        assert not Change("/api/*", "x").matches_path("/apix")
        assert Change("/a", "x").matches_path("/a?q=1")
        assert not Change("/a", "x").matches_path("/ab")


class TestFields:
    """An answer as a flat map: status, the chosen headers, the body by its kind."""

    def test_json_field_by_field_with_array_positions(self):
        got = diff.fields(reply({"a": {"b": [1, {"c": None}]}, "e": [], "f": {}}))
        assert got["a.b.0"] == "1" and got["a.b.1.c"] == "null"
        assert got["e"] == "[]" and got["f"] == "{}"
        assert got["status"] == "200" and got["header:location"] == diff.ABSENT

    def test_text_line_by_line_and_binary_by_hash(self):
        assert diff.fields(Reply(200, {"content-type": "text/html"}, b"a\nb"))["body line 2"] == "b"
        assert set(diff.fields(Reply(200, {}, b"\xff\xfe\x00"))) >= {"body sha256"}

    def test_json_that_does_not_parse_is_text(self):
        assert diff.fields(Reply(200, JSON, b"{oops"))["body line 1"] == "{oops"

    def test_a_json_scalar_is_the_body(self):
        assert diff.fields(reply(3))["body"] == "3"

    def test_ignored_paths_and_headers_are_not_fields(self):
        got = diff.fields(reply({"meta": {"id": 1}, "x": [{"id": 2}]}, headers={"date": "now"}),
                          ("content-type", "date"), ("meta", "x.*.id"), frozenset({"date"}))
        assert not any(k.startswith(("meta", "x.")) for k in got) and "header:date" not in got

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=200), st.sampled_from(["application/json", "text/plain", ""]))
    def test_any_body_gives_fields(self, body, ctype):
        assert isinstance(diff.body_fields(body, ctype), dict)


class TestCompare:
    """Noise is what differs between the two live answers; the rest must be declared."""

    def test_noise_is_not_held_against_the_release(self):
        got = diff.compare(GET, [(product(rid="a", at="1"), product(rid="c", at="2"),
                                  product(rid="b", at="2"))], [])
        assert got.ok and got.noise == {"request_id", "at"} and not got.differences

    def test_an_undeclared_change_fails_naming_the_field(self):
        got = diff.compare(GET, [(product(rid="a"), product(stock=4, rid="c"), product(rid="b"))], [])
        assert not got.ok
        assert [(d.field, d.live, d.passive) for d in got.unexpected] == [("stock", "5", "4")]

    def test_a_declared_change_passes(self):
        change = Change("/api/products/*", "stock")
        got = diff.compare(GET, [(product(), product(stock=4), product())], [change])
        assert got.ok and got.differences[0].change == change

    def test_a_change_declared_for_another_path_does_not_cover(self):
        got = diff.compare(GET, [(product(), product(stock=4), product())], [Change("/b", "stock")])
        assert not got.ok

    def test_status_headers_and_body_fields(self):
        moved = Reply(301, {"location": "/new"})
        got = diff.compare(GET, [(product(), moved, product())],
                           [Change("/api/*", "status"), Change("/api/*", "header:Location"),
                            Change("/api/*", "body"), Change("/api/*", "header:content-type")])
        assert got.ok, [d.as_dict() for d in got.unexpected]

    def test_passive_5xx_fails_whatever_is_declared(self):
        got = diff.compare(GET, [(product(), reply({"error": 1}, 500), product())],
                           [Change("/*", "status"), Change("/*", "body")])
        assert not got.ok and "answered 500 where live answered 200" in got.broken

    def test_5xx_on_both_colors_is_no_failure(self):
        assert diff.compare(GET, [(reply(1, 503), reply(1, 503), reply(1, 503))], []).ok

    def test_no_answer(self):
        none = Reply(None, error="no answer within 2 s")
        assert "passive color gave no answer" in diff.compare(GET, [(product(), none, product())],
                                                              []).broken
        assert "live color gave no answer" in diff.compare(GET, [(none, product(), product())],
                                                           []).live_failed

    def test_differences_on_any_front_count(self):
        got = diff.compare(GET, [(product(), product(), product()),
                                 (product(), product(price=9), product())], [])
        assert [d.field for d in got.unexpected] == ["price"]

    def test_noise_on_one_front_is_noise_for_the_request(self):
        got = diff.compare(GET, [(product(price=1), product(price=2), product(price=3)),
                                 (product(), product(price=9), product())], [])
        assert got.ok and "price" in got.noise


JSONS = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3),
                                                                               kids, max_size=3),
                     max_leaves=12)


class TestAnyAnswers:
    """Whatever the three answers hold, compare gives an outcome; identical answers always pass."""

    @settings(max_examples=200, deadline=None)
    @given(JSONS, JSONS, JSONS, st.sampled_from([200, 404, 500]))
    def test_any_json(self, a, p, b, status):
        got = diff.compare(GET, [(reply(a), reply(p, status), reply(b))], [Change("/*", "body")])
        assert isinstance(got.ok, bool)
        assert diff.compare(GET, [(reply(a), reply(a), reply(a))], []).ok

    def test_deeply_nested_json_is_compared_as_text(self):
        deep = b"[" * 5000 + b"]" * 5000
        assert "body line 1" in diff.fields(Reply(200, JSON, deep))


class TestVerdict:
    """The gate: no unexpected difference, and every declared change seen somewhere."""

    def outcomes(self, changes):
        a = diff.compare(GET, [(product(), product(price=12), product())], changes)
        b = diff.compare(Request("GET", "/about"), [(reply("x"), reply("x"), reply("x"))], changes)
        return [a, b]

    def test_passes_when_all_is_declared_and_seen(self):
        changes = [Change("/api/products/*", "price")]
        got = diff.verdict(self.outcomes(changes), changes, skipped=2)
        assert got.passed and got.seen[changes[0]] == ["GET /api/products/1"]
        assert got.counts()["skipped_unsafe"] == 2 and got.counts()["expected_seen"] == 1

    def test_a_change_that_did_not_happen_fails(self):
        changes = [Change("/api/products/*", "price"), Change("/about", "body")]
        got = diff.verdict(self.outcomes(changes), changes)
        assert not got.passed and got.missing == [Change("/about", "body")]

    def test_two_changes_covering_one_difference_are_both_seen(self):
        changes = [Change("/api/*", "body"), Change("/api/products/1", "price")]
        assert diff.verdict(self.outcomes(changes), changes).passed

    def test_summary_keeps_failures_shortened(self):
        long = "x" * 500
        outcome = diff.compare(GET, [(product(), product(price=long), product())], [])
        summary = diff.verdict([outcome], []).summary()
        assert summary["failures"][0]["field"] == "price"
        assert len(summary["failures"][0]["passive"]) == diff.SHOWN
        assert summary["counts"]["unexpected"] == 1


class TestIgnore:
    """compare.ignore: field paths, and headers named `header:NAME`."""

    def test_split(self):
        assert parse_ignore(["request_id", "header:Date", "a.*.b"]) == (("request_id", "a.*.b"),
                                                                        frozenset({"date"}))
