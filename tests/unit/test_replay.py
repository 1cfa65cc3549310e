"""How compare's requests go out: order, headers, bound, and the faults it translates.

A recording sender stands in for HTTP here (and a scripted front for the warm-up's budget); the
end-to-end cases with a real varnishd are in tests/integration/test_compare.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from bluegreen.checks.http import Answer
from bluegreen.compare.replay import PASS_HEADER, Replay, Warm
from bluegreen.compare.requests import Request
from bluegreen.compare.warmup import Target
from bluegreen.errors import Refused, VarnishError
from bluegreen.model import Address
from tests.helpers.scripted_http import ScriptedHTTP, answer

FRONTS = (Address("127.0.0.1", 1), Address("127.0.0.1", 2))


class Recorder:
    def __init__(self, answer=None, pause=0.0):
        self.calls, self.lock = [], threading.Lock()
        self.answer, self.pause = answer, pause
        self.inflight = self.most = 0

    def __call__(self, front, method, target, timeout, headers, limit):
        with self.lock:
            self.calls.append((front.port, method, target, dict(headers)))
            self.inflight += 1
            self.most = max(self.most, self.inflight)
        time.sleep(self.pause)
        with self.lock:
            self.inflight -= 1
        color = headers["X-Bluegreen-Color"]
        return self.answer or Answer(200, "x", {"x-bluegreen-color": color}, data=b"x")


def replay(send, concurrency=4):
    return Replay(FRONTS, lambda c: {"X-Bluegreen-Color": c, "Host": "shop.example.com"},
                  "X-Bluegreen-Color", 2.0, concurrency, send)


class TestReplay:
    """Live, passive, live again, on every front, each with the pass header."""

    def test_order_and_headers(self):
        send = Recorder()
        request = Request("GET", "/a", (("Host", "other.example.com"), ("Accept", "x/y")))
        got = replay(send).run([request], "blue", "green")
        assert len(got[request]) == 2
        for port in (1, 2):
            calls = [c for c in send.calls if c[0] == port]
            assert [c[3]["X-Bluegreen-Color"] for c in calls] == ["blue", "green", "blue"]
            for _, method, target, headers in calls:
                assert (method, target, headers[PASS_HEADER]) == ("GET", "/a", "1")
                assert headers["Host"] == "other.example.com" and "host" not in headers
                assert headers["Accept"] == "x/y"

    def test_concurrency_is_bounded(self):
        send = Recorder(pause=0.01)
        replay(send, concurrency=3).run([Request("GET", f"/{n}") for n in range(20)], "blue", "green")
        assert len(send.calls) == 20 * 2 * 3 and send.most <= 3

    def test_a_front_that_refuses_connections_is_a_varnish_error(self):
        send = Recorder(Answer(None, error="Connection refused", unreachable=True))
        with pytest.raises(VarnishError, match="did not accept a connection"):
            replay(send).run([Request("GET", "/a")], "blue", "green")

    def test_an_answer_from_the_wrong_color_is_refused(self):
        send = Recorder(Answer(200, "x", {"x-bluegreen-color": "blue"}))
        with pytest.raises(Refused, match="asked for green but was served by blue"):
            replay(send).run([Request("GET", "/a")], "blue", "green")

    def test_no_answer_is_kept_for_the_verdict(self):
        send = Recorder(Answer(None, error="no answer within 2 s"))
        got = replay(send).run([Request("GET", "/a")], "blue", "green")
        assert got[Request("GET", "/a")][0][1].error == "no answer within 2 s"


class TestWarmBudget:
    """The warm-up ends within warmup.budget_s even when every page trickles (a fake front on
    loopback sends a byte every 50 ms, within each read's timeout): what was not sent is counted."""

    def test_trickling_pages(self):
        page = answer(200, b"x" * 400, "text/html")
        with ScriptedHTTP(page, pace=0.05) as front:
            warm = Warm({"X-Bluegreen-Color": "green"}, "X-Bluegreen-Color", timeout=30,
                        concurrency=2, budget_s=1.0)
            start = time.monotonic()
            tally = warm.run([Request("GET", f"/page/{n}") for n in range(6)],
                             [Target(front.address, None)], "green")
            seconds = time.monotonic() - start
        assert seconds < 4 and tally.seconds < 4  # without the budget: 20 s a page
        assert tally.warmed == 0 and tally.failed == 2 and tally.not_sent == 4
        assert "no answer within" in tally.first_failure
