"""Send compare's requests through every Varnish front: live, passive, live again, bypassing the cache.

Each (request, front) is one task: its three requests go one after the other (the passive answer
taken between the two live ones, see diff.py); tasks run concurrently, at most `concurrency` at a
time. Every request carries the preview header for its color and X-Bluegreen-Pass: 1, which the
built-in VCL honours only from preview-trusted clients: Varnish passes the request to the color
without looking into or storing in the cache, so normal clients get exactly what they got before.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bluegreen import checks
from bluegreen.compare_input import Request
from bluegreen.config import Address
from bluegreen.diff import Reply
from bluegreen.errors import Refused, VarnishError

PASS_HEADER = "X-Bluegreen-Pass"
BODY_LIMIT = 4 * 1024 * 1024

Triple = tuple[Reply, Reply, Reply]


class Replay:
    def __init__(self, fronts: tuple[Address, ...], color_headers: Callable[[str], dict],
                 preview_header: str, timeout: float, concurrency: int, send=checks.request):
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
