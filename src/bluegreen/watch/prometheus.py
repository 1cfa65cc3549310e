"""Source 1 of `watch`: Prometheus's HTTP API (`/api/v1/query`), through the one HTTP client.

The queries are PromQL with {color}, {stage} and {interval} (whole seconds) filled in, evaluated
at the end of each interval. A requests query with no series is inconclusive, with the query
shown; an errors query with no series while requests had some counts as 0 errors (an app that
never answered a 5xx has no such series), and says so. Prometheus unreachable, or answering
garbage, is a MetricsError (exit 3); a query it rejects is a ConfigError naming the key.
"""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

from bluegreen.checks import http
from bluegreen.errors import ConfigError, MetricsError
from bluegreen.watch.verdict import Figures


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
        answer = self._get(url, self.watch.timeout_s)
        if answer.status is None:
            raise MetricsError(f"cannot reach Prometheus at {self.watch.prometheus}: "
                               f"{http.describe(answer)}; check watch.prometheus; nothing was "
                               "rolled back")
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MetricsError(f"Prometheus at {self.watch.prometheus} answered HTTP {answer.status} "
                               f"that is not its API's JSON: is watch.prometheus its base URL?")
        if body.get("status") != "success":
            if body.get("errorType") == "bad_data":
                raise ConfigError(f"watch.{key}: Prometheus rejected {promql!r}: {body.get('error')}")
            raise MetricsError(f"Prometheus at {self.watch.prometheus} failed {promql!r}: "
                               f"{body.get('errorType')}: {body.get('error')}; nothing was rolled back")
        return _total(body.get("data") or {})


def _total(data: dict) -> float | None:
    result = data.get("result")
    if data.get("resultType") == "scalar":
        result = [{"value": result}]
    values = []
    for series in result or []:
        try:
            value = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if math.isfinite(value):
            values.append(value)
    return sum(values) if values else None
