"""Send compare's requests through every Varnish front: live, passive, live again, bypassing the cache.
(And warm-up's, once each, into the cache: `Warm`, at the end.)

Each (request, front) is one task: its three requests go one after the other (the passive answer
taken between the two live ones, see diff.py); tasks run concurrently, at most `concurrency` at a
time. Every request carries the preview header for its color and X-Bluegreen-Pass: 1, which the
built-in VCL honours only from preview-trusted clients: Varnish passes the request to the color
without looking into or storing in the cache, so normal clients get exactly what they got before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bluegreen.checks import http
from bluegreen.compare import warmup
from bluegreen.compare.diff import Reply
from bluegreen.compare.requests import Request
from bluegreen.errors import Refused, VarnishError
from bluegreen.model import Address

PASS_HEADER = "X-Bluegreen-Pass"
BODY_LIMIT = 4 * 1024 * 1024

Triple = tuple[Reply, Reply, Reply]


class Replay:
    def __init__(self, fronts: tuple[Address, ...], color_headers: Callable[[str], dict],
                 preview_header: str, timeout: float, concurrency: int, send=http.request):
        self.fronts, self.color_headers = fronts, color_headers
        self.preview_header = preview_header.lower()
        self.timeout, self.concurrency, self.send = timeout, concurrency, send

    def run(self, requests: list[Request], live: str, passive: str) -> dict[Request, list[Triple]]:
        """{request: [(live a, passive, live b) per front]}; VarnishError when a front is down."""
        tasks = [(r, f) for r in requests for f in self.fronts]
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(tasks)))) as pool:
            triples = list(pool.map(lambda t: self._three(t[0], t[1], live, passive), tasks))
        out: dict[Request, list[Triple]] = {r: [] for r in requests}
        for (request, _front), triple in zip(tasks, triples, strict=True):
            out[request].append(triple)
        return out

    def _three(self, request: Request, front: Address, live: str, passive: str) -> Triple:
        return (self._one(request, front, live), self._one(request, front, passive),
                self._one(request, front, live))

    def _one(self, request: Request, front: Address, color: str) -> Reply:
        headers = {**request.over(self.color_headers(color)), PASS_HEADER: "1"}
        answer = self.send(front, request.method, request.target, self.timeout, headers,
                           limit=BODY_LIMIT)
        if answer.unreachable:
            raise VarnishError(f"compare: Varnish front {front} did not accept a connection "
                               f"({answer.error}): is varnishd running there? nothing live changed")
        served_by = answer.headers.get(self.preview_header)
        if answer.status is not None and served_by != color:
            raise Refused(f"compare: {request} via {front} asked for {color} but was served by "
                          f"{served_by or 'an unknown color'}: the preview header does not reach "
                          "the colors (is this host in vcl.preview_from? is the preview token "
                          "right?); nothing was compared")
        return Reply(answer.status, answer.headers, answer.data, answer.error)


class Warm:
    """Warm-up's sender (decisions in warmup.py): each request once through each instance, with
    the target color's preview headers and no X-Bluegreen-Pass, so Varnish stores the answer.
    One budget for the whole warm-up; a front that refused a connection is not asked again."""

    def __init__(self, color_headers: dict, preview_header: str, timeout: float, concurrency: int,
                 budget_s: float, send=http.request, clock=time.monotonic):
        self.color_headers, self.preview_header = color_headers, preview_header
        self.timeout, self.concurrency, self.budget_s = timeout, concurrency, budget_s
        self.send, self.clock = send, clock

    def run(self, requests: list[Request], targets: list[warmup.Target], color: str) -> warmup.Tally:
        tally = warmup.Tally(len(requests), len(targets), budget_s=self.budget_s)
        start = self.clock()
        end, down = start + self.budget_s, set()

        def one(task):
            request, target = task
            left = end - self.clock()
            if left <= 0:
                return task, None, False
            if target.address in down:
                return task, f"not sent: {target.address} did not accept a connection", True
            headers = warmup.headers(request, self.color_headers, target.host)
            answer = self.send(target.address, request.method, request.target,
                               min(self.timeout, left), headers)
            if answer.unreachable:
                down.add(target.address)
            return task, warmup.failure(answer, color, self.preview_header), True

        tasks = [(r, t) for r in requests for t in targets]  # the busiest first, on every instance
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(tasks)))) as pool:
            for (request, target), why, sent in pool.map(one, tasks):
                tally.add(f"{request} via {target.address}", why, sent)
        tally.seconds = self.clock() - start
        return tally
