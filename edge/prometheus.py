"""The edge to Prometheus: queries through prometheus-api-client, errors turned into one
exception that names the URL and the query, results into pandas frames (empty, not a crash,
when nothing matched: the client's DataFrame helpers fail on empty results)."""

from datetime import datetime

import pandas as pd
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from core.verdict import Window


class PrometheusError(Exception):
    """Prometheus could not answer: unreachable, timed out, or rejected the query."""


class Prometheus:
    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._timeout = f"{int(timeout_s * 1000)}ms"  # Prometheus durations take no fractions
        self.client = PrometheusConnect(url=self.url, disable_ssl=True)

    def _call(self, what: str, query: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PrometheusApiClientException as err:
            raise PrometheusError(f"{self.url}: {what} {query!r} failed: {err}") from err
        except requests.RequestException as err:
            raise PrometheusError(f"{self.url}: unreachable ({type(err).__name__}) for {what} {query!r}") from err

    def api(self, path: str, **params):
        """The data of GET /api/v1/<path>: rules, targets, alerts."""
        url = f"{self.url}/api/v1/{path}"
        try:
            body = requests.get(url, params=params, timeout=self.timeout_s).json()
        except (requests.RequestException, ValueError) as err:
            raise PrometheusError(f"{url}: {type(err).__name__}: {err}") from err
        if body.get("status") != "success":
            raise PrometheusError(f"{url}: {body.get('error')}")
        return body["data"]

    def instant(self, query: str, at: datetime | None = None) -> list[tuple[dict, float]]:
        """[(labels, value)] of an instant query at `at` (default: now)."""
        params = {"timeout": self._timeout}
        if at is not None:
            params["time"] = at.timestamp()
        result = self._call("query", query, self.client.custom_query, query, params=params)
        return [(r["metric"], float(r["value"][1])) for r in result]

    def pods(self, query: str) -> set[str]:
        """The `pod` labels of the series the query returns now (redis_instance_info{role="master"}:
        the pods in a role only the application knows); an error when it names none."""
        rows = self.instant(query)
        pods = {labels["pod"] for labels, _ in rows if labels.get("pod")}
        if not pods:
            raise PrometheusError(f"{self.url}: {query!r} names no pod ({len(rows)} series, none with a pod label)")
        return pods

    def scalar(self, query: str, at: datetime | None = None) -> float | None:
        """The value of a query that aggregates to one series; None when it has none."""
        rows = self.instant(query, at)
        if len(rows) > 1:
            raise PrometheusError(f"{self.url}: query {query!r} returned {len(rows)} series, expected one")
        return rows[0][1] if rows else None

    def range(self, query: str, window: Window, step_s: float = 1.0) -> pd.DataFrame:
        """Long frame: one row per sample, columns timestamp (UTC), value, and the labels."""
        result = self._call("range query", query, self.client.custom_query_range, query,
                            start_time=window.start, end_time=window.end, step=f"{int(step_s * 1000)}ms",
                            params={"timeout": self._timeout})
        rows = [{**r["metric"], "timestamp": float(ts), "value": float(v)}
                for r in result for ts, v in r["values"]]
        if not rows:
            return pd.DataFrame(columns=["timestamp", "value"])
        frame = pd.DataFrame(rows)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
        return frame

    def series_exist(self, metric: str, window: Window) -> bool:
        """Whether any series named `metric` has a sample in the window."""
        seconds = max(1, int(window.seconds))
        count = self.scalar(f'count(last_over_time({{__name__="{metric}"}}[{seconds}s]))', window.end)
        return bool(count)
