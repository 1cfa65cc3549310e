"""The sample app's own metrics, and the failures a release can be told to make (for `watch`).

    GET /metrics    http_requests_total{color,code} in Prometheus's text format (prometheus-client,
                    an optional dependency: `pip install bluegreen[metrics]`; without it, 404)

Every request is counted except /metrics and /health (scrapes and Varnish's probes would drown
a quiet site's own traffic). A release named with the suffix `-failNN` (e.g. `1.5.0-fail20`)
answers NN% of its pages with a 500, spread evenly (every fifth request for 20); /health,
/version and /metrics never fail, so such a release passes verify and fails only in front of users.
"""

from __future__ import annotations

import re
import threading

from bluegreen.sampleapp.answer import Answer

UNCOUNTED = ("/metrics", "/health")
NEVER_FAIL = ("/metrics", "/health", "/version")
_FAIL = re.compile(r"-fail(\d{1,3})$")

_lock = threading.Lock()
_served = 0
_counter = None


def failing_percent(release: str) -> int:
    """The share of pages (0 to 100) a release is told to fail."""
    match = _FAIL.search(release)
    return min(100, int(match.group(1))) if match else 0


def serve(route, req):
    """Answer `req` with `route`, or with an injected 500; count the answer."""

    answer = Answer(500, "injected failure\n") if _should_fail(req) else route(req)
    if req.path not in UNCOUNTED:
        counter = _requests()
        if counter is not None:
            counter.labels(req.color, str(answer.status)).inc()
    return answer


def metrics(req):

    try:
        import prometheus_client
    except ImportError:
        return Answer(404, "no metrics: prometheus-client is not installed "
                           "(pip install 'bluegreen[metrics]')\n")
    _requests()
    return Answer(200, prometheus_client.generate_latest().decode("utf-8"),
                  prometheus_client.CONTENT_TYPE_LATEST)


def _should_fail(req) -> bool:
    global _served
    share = failing_percent(req.release)
    if not share or req.path in NEVER_FAIL:
        return False
    with _lock:
        _served += 1
        return (_served * share) // 100 != ((_served - 1) * share) // 100


def _requests():
    """The counter, made on first use; None without prometheus-client."""
    global _counter
    if _counter is None:
        try:
            from prometheus_client import Counter
        except ImportError:
            return None
        with _lock:
            if _counter is None:
                _counter = Counter("http_requests", "HTTP requests answered, by color and status code",
                                   ["color", "code"])
    return _counter
