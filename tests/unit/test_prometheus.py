"""watch's Prometheus client against a fake Prometheus on loopback (a real one cannot answer
garbage or trickle on cue; the real one: tests/integration/test_watch.py): credentials used and
never shown, every garbage answer a MetricsError, every query within watch.timeout_s."""

from __future__ import annotations

import base64
import json
import time

import pytest

from bluegreen.config import optional
from bluegreen.errors import ConfigError, MetricsError
from bluegreen.watch.prometheus import ANSWER_LIMIT, PrometheusSource
from tests.helpers.scripted_http import ScriptedHTTP, answer, prometheus, vector

PASSWORD = "pa ss@w%rd-7Kq"  # a space, an '@' and a '%': every shape a URL gets wrong
IN_URL = "pa%20ss%40w%25rd-7Kq"


def source(url: str, **keys) -> PrometheusSource:
    return PrometheusSource(optional.watch({"prometheus": url, "timeout_s": 1, **keys}), "test")


def failure(server: ScriptedHTTP, url: str | None = None, **keys) -> MetricsError:
    with pytest.raises(MetricsError) as err:
        source(url or server.url, **keys).query("requests_query", "sum(x)", None)
    message = err.value.message
    assert len(message.splitlines()) == 1 and "nothing was rolled back" in message
    return err.value


class TestCredentials:
    """user:password@ in watch.prometheus, or watch.prometheus_auth_file: sent as basic auth,
    and in no message, record or config repr."""

    def expected(self, user: str = "watcher") -> str:
        return "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()

    def test_from_the_url(self):
        with ScriptedHTTP(vector("3")) as server:
            url = f"http://watcher:{IN_URL}@{server.address}"
            prom = source(url)
            assert prom.query("requests_query", "sum(x)", None) == 3.0
            assert server.requests[0]["authorization"] == self.expected()
            assert prom.describe() == f"Prometheus at {server.url}"
            settings = optional.watch({"prometheus": url})
            assert PASSWORD not in repr(settings) and IN_URL not in repr(settings)

    def test_from_a_file(self, tmp_path):
        (tmp_path / "prom.auth").write_text(f"watcher:{PASSWORD}\n")
        with ScriptedHTTP(vector("3")) as server:
            settings = optional.watch({"prometheus": server.url, "prometheus_auth_file": "prom.auth"},
                                      tmp_path)
            PrometheusSource(settings, "test").query("requests_query", "sum(x)", None)
            assert server.requests[0]["authorization"] == self.expected()

    def test_no_credentials_no_header(self):
        with ScriptedHTTP(vector("3")) as server:
            source(server.url).query("requests_query", "sum(x)", None)
            assert "authorization" not in server.requests[0]

    def test_unreachable_names_the_url_without_them(self):
        with ScriptedHTTP() as server:
            address = server.address
        error = failure(server, f"http://watcher:{IN_URL}@{address}")
        assert f"cannot reach Prometheus at http://{address}" in error.message
        assert IN_URL not in error.message and "watcher" not in error.message

    def test_refused_credentials(self):
        with ScriptedHTTP(answer(401, "Unauthorized", "text/plain")) as server:
            error = failure(server, f"http://watcher:{IN_URL}@{server.address}")
        assert "refused the credentials (HTTP 401)" in error.message and IN_URL not in error.message

    @pytest.mark.parametrize("content, words", [
        ("watcher\n", "should hold one line, user:password"),
        ("", "should hold one line, user:password"),
        (None, "cannot read"),
    ])
    def test_a_bad_auth_file(self, tmp_path, content, words):
        if content is not None:
            (tmp_path / "prom.auth").write_text(content)
        settings = optional.watch({"prometheus": "http://127.0.0.1:9", "prometheus_auth_file":
                                   "prom.auth"}, tmp_path)
        with pytest.raises(ConfigError) as err:
            PrometheusSource(settings, "test")
        assert err.value.message.startswith("watch.prometheus_auth_file: ") and words in err.value.message

    @pytest.mark.parametrize("raw, words", [
        ({"prometheus": f"http://watcher:{IN_URL}@h:9090", "prometheus_auth_file": "f"}, "in one place"),
        ({"prometheus": f"http://watcher:{PASSWORD}@[::1:9090"}, "should be a URL"),
        ({"prometheus": f"watcher:{IN_URL}@h:9090"}, "should be a URL"),
        ({"prometheus": "http://watcher@h:9090"}, "a user without a password"),
    ])
    def test_config_errors_hide_the_password(self, raw, words):
        with pytest.raises(ConfigError) as err:
            optional.watch(raw)
        assert words in err.value.message
        assert PASSWORD not in err.value.message and IN_URL not in err.value.message


GARBAGE = {
    "data is a list": prometheus([1, 2]),
    "data is a string": prometheus("vector"),
    "result is an object": prometheus({"resultType": "vector", "result": {"a": 1}}),
    "a series without a value": prometheus({"resultType": "vector", "result": [{"metric": {}}]}),
    "a value that is no number": vector("many"),
    "two series summing to infinity": vector("1.7e308", "1.7e308"),
    "an infinite value": vector("+Inf"),
    "a negative count": vector("5", "-3"),
    "an unknown result type": prometheus({"resultType": "histogram", "result": []}),
    "deeply nested JSON": answer(200, '{"status": "success", "data": ' + "[" * 5000 + "]" * 5000 + "}"),
    "not JSON": answer(200, "<html>hello</html>", "text/html"),
    "not UTF-8": answer(200, b'{"status": "\xff"}'),
    "an error with a line break": answer(503, json.dumps({"status": "error", "errorType": "x\ny",
                                                          "error": "a\nb"})),
}


class TestGarbage:
    """Whatever a broken Prometheus answers is a MetricsError (exit 3, where on_source_error
    applies), one line long; never an internal error."""

    @pytest.mark.parametrize("case", list(GARBAGE))
    def test_garbage(self, case):
        with ScriptedHTTP(GARBAGE[case]) as server:
            failure(server)

    def test_a_range_vector_is_a_config_error(self):
        with ScriptedHTTP(prometheus({"resultType": "matrix", "result": []})) as server, \
                pytest.raises(ConfigError) as err:
            source(server.url).query("requests_query", "x[5m]", None)
        assert err.value.message.startswith("watch.requests_query: gives a range vector")

    def test_nan_is_no_series(self):
        with ScriptedHTTP(vector("NaN")) as server:
            assert source(server.url).query("requests_query", "sum(x)", None) is None

    def test_too_large(self):
        body = b'{"status": "success", "data": {"resultType": "vector", "result": []}, "pad": "' \
               + b"x" * ANSWER_LIMIT + b'"}'
        with ScriptedHTTP(answer(200, body)) as server:
            error = failure(server)
        assert "more than 8 MiB" in error.message and "sum(" in error.message


class TestLargeAnswers:
    """1,000 series (over 64 KiB) are read whole and summed, as the docs say."""

    def test_a_thousand_series(self):
        payload = prometheus({"resultType": "vector", "result": [
            {"metric": {"__name__": "http_requests_total", "instance": f"10.0.{n // 250}.{n % 250}:9101",
                        "color": "green", "code": "200", "job": "shop"}, "value": [1.0, "2"]}
            for n in range(1000)]})
        assert len(payload) > 65536
        with ScriptedHTTP(payload) as server:
            assert source(server.url).query("requests_query", "x", None) == 2000.0


class TestDeadline:
    """A Prometheus trickling its answer a byte at a time: MetricsError within watch.timeout_s."""

    def test_trickle(self):
        with ScriptedHTTP(vector(*["1"] * 20), pace=0.05) as server:
            start = time.monotonic()
            error = failure(server)
            seconds = time.monotonic() - start
        assert "no answer within 1 s" in error.message and seconds < 3  # unbounded: 50 s
