"""Source 1 of `watch`: Prometheus's HTTP API (`/api/v1/query`), through the one HTTP client.

The queries are PromQL with {color}, {stage} and {interval} (whole seconds) filled in, evaluated
at the end of each interval. A requests query with no series is inconclusive, with the query
shown; an errors query with no series while requests had some counts as 0 errors (an app that
never answered a 5xx has no such series), and says so. Prometheus unreachable, too slow (each
query's whole answer within watch.timeout_s), or answering garbage (not its API's JSON, a count
that is negative or not finite, more than ANSWER_LIMIT bytes) is a MetricsError (exit 3, where
watch.on_source_error applies); a query it rejects, or one that does not give an instant
vector or a scalar, is a ConfigError naming the key.

Credentials (basic auth) come from the URL's user:password@ or watch.prometheus_auth_file; the
configuration keeps them apart from the URL, so no message, record or report can show them.
"""

from __future__ import annotations

import base64
import json
import math
from urllib.parse import urlencode

from bluegreen.checks import http
from bluegreen.errors import ConfigError, MetricsError
from bluegreen.model import show
from bluegreen.watch.verdict import Figures

ANSWER_LIMIT = 8 << 20  # 8 MiB: some 40,000 series; a summed query answers one
MAX_COUNT = 1e15  # more requests than this in one interval is no count


def fill(query: str, color: str, stage: str, interval_s: float) -> str:
    """Placeholders filled by plain replacement: PromQL's own braces stay as they are."""
    for key, value in (("color", color), ("stage", stage), ("interval", str(max(1, round(interval_s))))):
        query = query.replace("{" + key + "}", value)
    return query


class PrometheusSource:
    """The new color's requests and 5xx per interval, as the app's metrics counted them."""

    name = "prometheus"

    def __init__(self, watch, stage_name: str, get=http.get_url):
        self.watch, self.stage, self._get = watch, stage_name, get
        self._headers = _auth_header(watch)

    def describe(self) -> str:
        return f"Prometheus at {self.watch.prometheus}"

    def begin(self, color: str, previous: str | None, switch_epoch: float | None) -> float | None:
        """Check Prometheus answers both queries; the old color's error share over baseline_s
        before the switch (None when unknown)."""
        for key in ("requests_query", "errors_query"):  # reachable, and both queries accepted
            self.query(key, fill(getattr(self.watch, key), color, self.stage, 60), None)
        if not previous or switch_epoch is None or self.watch.baseline_s <= 0:
            return None
        figures = self._count(previous, switch_epoch, self.watch.baseline_s)
        if figures.missing or not figures.requests:
            return None
        return figures.errors / figures.requests

    def figures(self, color: str, end_epoch: float, interval_s: float) -> Figures:
        return self._count(color, end_epoch, interval_s)

    def end(self) -> None:
        pass

    def _count(self, color: str, at: float, interval_s: float) -> Figures:
        requests_q = fill(self.watch.requests_query, color, self.stage, interval_s)
        requests = self.query("requests_query", requests_q, at)
        if requests is None:
            return Figures(None, None, missing=f"requests_query returned no series: {requests_q}")
        errors_q = fill(self.watch.errors_query, color, self.stage, interval_s)
        errors = self.query("errors_query", errors_q, at)
        if errors is None:
            return Figures(requests, 0, note="errors_query returned no series, taken as 0 errors")
        return Figures(requests, errors)

    def query(self, key: str, promql: str, at: float | None) -> float | None:
        """The sum of the result's values; None when it has no series (or only NaN)."""
        params = {"query": promql, **({"time": f"{at:.3f}"} if at is not None else {})}
        url = self.watch.prometheus.rstrip("/") + "/api/v1/query?" + urlencode(params)
        answer = self._get(url, self.watch.timeout_s, self._headers, limit=ANSWER_LIMIT)
        where = f"Prometheus at {self.watch.prometheus}"
        if answer.status is None:
            raise MetricsError(f"cannot reach {where}: {http.describe(answer)}; check "
                               "watch.prometheus (and watch.timeout_s); nothing was rolled back")
        if answer.truncated:
            raise MetricsError(f"{where} answered {key} with more than {ANSWER_LIMIT >> 20} MiB: "
                               "sum the series in the query (sum(...)); nothing was rolled back")
        if answer.status in (401, 403):
            raise MetricsError(f"{where} refused the credentials (HTTP {answer.status}): check the user "
                               "and password (user:password@ in watch.prometheus, or "
                               "watch.prometheus_auth_file); nothing was rolled back")
        body = _json(answer.data)
        if not isinstance(body, dict):
            raise MetricsError(f"{where} answered HTTP {answer.status} that is not its API's JSON (is "
                               "watch.prometheus its base URL?); nothing was rolled back")
        if body.get("status") != "success":
            error = _said(body.get("error"))
            if body.get("errorType") == "bad_data":
                raise ConfigError(f"watch.{key}: Prometheus rejected '{show(promql, 200)}': {error}")
            raise MetricsError(f"{where} failed '{show(promql, 200)}': {_said(body.get('errorType'))}: "
                               f"{error}; nothing was rolled back")
        try:
            return _total(body.get("data"), key)
        except ValueError as exc:
            raise MetricsError(f"{where} answered {key} with garbage: {exc}; nothing was rolled "
                               "back") from None


def _auth_header(watch) -> dict:
    """The Authorization header of basic auth, or none."""
    credentials = watch.prometheus_credentials()
    if credentials is None:
        return {}
    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _said(value) -> str:
    """A string of the answer as it may appear in a message; of anything else, its type."""
    return show(value, 200) if isinstance(value, str) else type(value).__name__


def _json(data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        return None


def _total(data, key: str = "requests_query") -> float | None:
    """The sum of an instant vector's values, or a scalar's; None when there is no series (or
    only NaN). ValueError on garbage; ConfigError when the query gives another result type."""
    if not isinstance(data, dict):
        raise ValueError(f"'data' is {type(data).__name__}, not an object")
    kind, result = data.get("resultType"), data.get("result")
    if kind in ("matrix", "string"):
        raise ConfigError(f"watch.{key}: gives a {'range vector' if kind == 'matrix' else kind}, "
                          "not a number: sum it over the interval, e.g. "
                          "sum(increase(http_requests_total[{interval}s]))")
    if kind == "scalar":
        result = [{"value": result}]
    elif kind != "vector":
        raise ValueError(f"resultType {_said(kind)}, not vector or scalar")
    if not isinstance(result, list):
        raise ValueError("'result' is not a list")
    values = [_value(series) for series in result]
    values = [v for v in values if not math.isnan(v)]
    total = sum(values) if values else None
    if total is not None and not total <= MAX_COUNT:
        raise ValueError(f"the values sum to {total:g}, not a count")
    return total


def _value(series) -> float:
    """One series' value: [time, "number"], finite and not negative (NaN is kept, left out)."""
    pair = series.get("value") if isinstance(series, dict) else None
    if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):
        raise ValueError('a series without a [time, "number"] value')
    try:
        value = float(pair[1])
    except ValueError:
        raise ValueError(f"the value {show(pair[1])} is not a number") from None
    if not math.isnan(value) and not 0 <= value <= MAX_COUNT:
        raise ValueError(f"the value {show(pair[1])} is not a count (negative, infinite or "
                         "beyond 10^15)")
    return value
