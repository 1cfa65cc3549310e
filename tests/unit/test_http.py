"""The one HTTP client (checks/http.py) and the release probe against servers that misbehave on
cue (tests/helpers/scripted_http.py): one deadline bounds the whole answer, not each read."""

from __future__ import annotations

import time

import pytest

from bluegreen.checks import http
from bluegreen.checks.release import running_release
from tests.helpers.scripted_http import ScriptedHTTP, answer

TIMEOUT = 0.6
SLACK = 2.0  # a busy machine; without the deadline each case takes 10 s or more

TRICKLES = {
    "the head": answer(200, b"x" * 10, headers={"X-Pad": "p" * 200}),
    "the body": answer(200, b"x" * 200),
    "a body longer than announced": answer(200, b"x" * 200, length=100_000),
}


def timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


class TestOneDeadline:
    """A server trickling a byte every 50 ms satisfies every read's timeout; the answer still
    ends within the timeout, as an answer that did not come."""

    @pytest.mark.parametrize("where", list(TRICKLES))
    def test_get(self, where):
        with ScriptedHTTP(TRICKLES[where], pace=0.05) as server:
            got, seconds = timed(lambda: http.get(server.address, "/", TIMEOUT))
        assert got.status is None and got.error == f"no answer within {TIMEOUT:g} s"
        assert seconds < TIMEOUT + SLACK

    @pytest.mark.parametrize("where", list(TRICKLES))
    def test_request(self, where):
        with ScriptedHTTP(TRICKLES[where], pace=0.05) as server:
            got, seconds = timed(lambda: http.request(server.address, "GET", "/", TIMEOUT,
                                                      limit=1 << 20))
        assert got.status is None and not got.unreachable and "no answer within" in got.error
        assert seconds < TIMEOUT + SLACK

    def test_get_url(self):
        with ScriptedHTTP(TRICKLES["the body"], pace=0.05) as server:
            got, seconds = timed(lambda: http.get_url(server.url + "/api", TIMEOUT))
        assert got.status is None and seconds < TIMEOUT + SLACK

    def test_release_probe(self):
        """switch's release probe (its own plain socket) is bounded the same way."""
        with ScriptedHTTP(answer(200, b"1.0.0\n" * 20, "text/plain"), pace=0.05) as server:
            (release, seen), seconds = timed(lambda: running_release(server.address, "/version",
                                                                     TIMEOUT))
        assert release is None and seen == f"no answer within {TIMEOUT:g} s"
        assert seconds < TIMEOUT + SLACK

    def test_a_quick_answer_is_whole(self):
        with ScriptedHTTP(answer(200, b"1.2.3\n", "text/plain")) as server:
            got = http.get(server.address, "/version", TIMEOUT)
            assert (got.status, got.body, got.truncated) == (200, "1.2.3\n", False)
            assert running_release(server.address, "/version", TIMEOUT)[0] == "1.2.3"

    def test_nothing_listening_is_unreachable(self):
        with ScriptedHTTP() as server:
            address = server.address
        got = http.request(address, "GET", "/", TIMEOUT)
        assert got.unreachable and got.status is None


class TestReadLimit:
    """An answer longer than the read limit is cut there, and says so."""

    def test_truncated(self):
        with ScriptedHTTP(answer(200, b"y" * 70_000)) as server:
            cut = http.get(server.address, "/", TIMEOUT)
            whole = http.get(server.address, "/", TIMEOUT, limit=100_000)
        assert cut.truncated and len(cut.data) == 65536
        assert not whole.truncated and len(whole.data) == 70_000

    def test_exactly_the_limit_is_whole(self):
        with ScriptedHTTP(answer(200, b"z" * 1000)) as server:
            got = http.request(server.address, "GET", "/", TIMEOUT, limit=1000)
        assert not got.truncated and got.data == b"z" * 1000
