"""Hostile input to the newer features against real parts (issue 24): a Prometheus that asks for
credentials, requests files with credential headers, method overrides and characters HTTP cannot
carry, sent (or not) through a real varnishd to the sample app."""

from __future__ import annotations

import json

import pytest

from tests.helpers.local_watch import LocalPrometheus, Traffic
from tests.helpers.stages import stage_next
from tests.helpers.warming import configure as configure_warmup
from tests.helpers.watching import configure as configure_watch
from tests.helpers.watching import go_live, watch

PASSWORD = "Zq7 s3cr@t%Qz9"  # a space, an '@' and a '%'
USERINFO = "watcher:Zq7%20s3cr%40t%25Qz9"


def leaks(text: str) -> bool:
    return "Zq7" in text or "Qz9" in text or USERINFO in text


def sent(site) -> str:
    """Every request the sample app servers were sent ("METHOD PATH" a line)."""
    return "".join(p.read_text() for p in site.run_dir.glob("*.requests"))


@pytest.fixture
def guarded(site):
    """A real Prometheus scraping both colors that answers only the user watcher (basic auth)."""
    prom = LocalPrometheus(site.root, [*site.blue, *site.green], user=("watcher", PASSWORD)).start()
    yield prom
    prom.stop()


class TestPrometheusCredentials:
    """watch.prometheus with user:password@: sent as basic auth to a Prometheus that requires
    it, and shown nowhere; a wrong password is exit 3 naming the refusal, not the password."""

    def test_used_and_never_shown(self, site, guarded):
        go_live(site, "2.0", guarded)
        configure_watch(site, "prometheus", prometheus=f"http://watcher:wrong@{guarded.address}")
        refused = watch(site)
        assert refused.code == 3 and "refused the credentials (HTTP 401)" in refused.err, refused.text
        assert "wrong" not in refused.text and site.state()["live"] == "green"

        configure_watch(site, "prometheus", prometheus=f"http://{USERINFO}@{guarded.address}")
        with Traffic(site.varnish.http, rate=20):
            run = watch(site)
        assert run.code == 0 and site.state()["watch"]["verdict"] == "pass", run.text
        assert f"from Prometheus at http://{guarded.address}" in run.err
        assert not leaks(run.text + site.outputs_text())


def configure_compare(site, requests: str, expected: str = "") -> None:
    (site.root / "requests.txt").write_text(requests, encoding="utf-8")
    (site.root / "expected.toml").write_text(expected, encoding="utf-8")
    site.config.write_text(site.config.read_text() + '\n[compare]\nrequests = "requests.txt"\n'
                           'expected = "expected.toml"\n')


@pytest.fixture
def staged(site):
    stage_next(site)
    return site


class TestCompareRequests:
    """Credential headers reach the app but no report; what HTTP cannot carry and what would
    change data are never sent."""

    def test_credential_headers_are_in_no_output(self, staged):
        configure_compare(staged, "GET /api/products/2 Authorization: Bearer Zq7token Cookie: "
                                  "session=Zq7cookie Accept: application/json\n")
        run = staged.cli("--json", "compare", "--stage", "test")
        assert run.code == 0, run.text
        junit = (staged.out / "test" / "junit-compare.xml").read_text()
        assert 'name="GET /api/products/2 Authorization: *** Cookie: *** Accept: application/json"' \
            in junit
        assert not leaks(run.text + staged.outputs_text())

    def test_a_method_override_is_never_sent(self, staged):
        configure_compare(staged, "GET /health?x=sent\nGET /health?x=override X-HTTP-Method-Override: "
                                  "DELETE\nGET /health?_method=DELETE\n")
        run = staged.cli("--json", "compare", "--stage", "test")
        assert run.code == 0 and json.loads(run.out)["counts"]["skipped_unsafe"] == 2, run.text
        assert "X-HTTP-Method-Override: ***" in run.err
        assert "GET /health?x=sent\n" in sent(staged)
        assert "override" not in sent(staged) and "_method" not in sent(staged)

    @pytest.mark.parametrize("requests, expected, words", [
        ("GET /health?refused X-Test: 10€\n", "", "requests.txt line 1: the value of X-Test holds '€'"),
        ("\ufeffGET /health?refused\n", "", "starts with a byte order mark (BOM)"),
        ("GET /health?refused\n", "a = " + "[" * 3000 + "]" * 3000, "expected.toml: nested too deep"),
    ])
    def test_refused_before_anything_is_sent(self, staged, requests, expected, words):
        configure_compare(staged, requests, expected)
        run = staged.cli("compare", "--stage", "test")
        assert run.code == 2 and words in run.err, run.text
        assert "Traceback" not in run.err and "refused" not in sent(staged)
        assert staged.served() == ("blue", "1.0.0")


class TestWarmupRequests:
    """A warm-up file with a value HTTP cannot carry, or a method override: exit 2 before the
    switch moves anything."""

    @pytest.mark.parametrize("requests, words", [
        ("GET /page/refused X-Test: 10€\n", "warmup.requests: "),
        ("GET /page/refused X-HTTP-Method-Override: DELETE\n", "is never sent to warm the cache"),
    ])
    def test_refused_before_the_switch(self, staged, requests, words):
        configure_warmup(staged, requests)
        run = staged.cli("switch", "--stage", "test")
        assert run.code == 2 and words in run.err, run.text
        assert staged.served() == ("blue", "1.0.0") and "refused" not in sent(staged)
