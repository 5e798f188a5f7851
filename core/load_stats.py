"""What Locust measured over a window, and client-side SLO verdicts from it: totals, error ratio,
rate and latency quantiles of its 1 s timeline (a frame: t, method, name, requests, failures,
rt_ms). Pure functions over frames: the unit tests build frames by hand."""

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from core.thresholds import Threshold, parse_threshold
from core.verdict import Verdict, Window, inconclusive, judged


@dataclass(frozen=True)
class WindowStats:
    requests: int
    failures: int
    seconds: float
    latencies: Counter  # rounded ms -> count

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def quantile_s(self, q: float) -> float:
        """The q-quantile of response times, in seconds (nearest rank over the rounded values)."""
        rank = q * sum(self.latencies.values())
        seen = 0
        for ms in sorted(self.latencies):
            seen += self.latencies[ms]
            if seen >= rank:
                return ms / 1000
        return max(self.latencies) / 1000

    @property
    def avg_s(self) -> float:
        return sum(ms * n for ms, n in self.latencies.items()) / sum(self.latencies.values()) / 1000

    @property
    def max_s(self) -> float:
        return max(self.latencies) / 1000

    def value(self, threshold: Threshold) -> float:
        if threshold.metric == "error_ratio":
            return self.error_ratio
        if threshold.metric == "rps":
            return self.rps
        if threshold.metric == "avg":
            return self.avg_s
        if threshold.metric == "max":
            return self.max_s
        return self.quantile_s(threshold.quantile)


def window_stats(frame: pd.DataFrame, window: Window, name=None) -> WindowStats | None:
    """Totals of the seconds inside [start, end) for one endpoint (a name), several (a list) or
    all (None); None when there was no request."""
    start, end = window.start.timestamp(), window.end.timestamp()
    rows = frame[(frame.t >= start) & (frame.t < end)]
    if name is not None:
        rows = rows[rows.name.isin([name] if isinstance(name, str) else list(name))]
    requests = int(rows.requests.sum())
    if requests == 0:
        return None
    latencies = Counter()
    for rt in rows.rt_ms:
        latencies.update({float(ms): n for ms, n in rt.items()})
    return WindowStats(requests, int(rows.failures.sum()), window.seconds, latencies)


def describe(metric: str, value: float) -> str:
    if metric == "error_ratio":
        return f"{value:.2%}"
    if metric == "rps":
        return f"{value:.1f}/s"
    return f"{value * 1000:.0f}ms"


def judge_thresholds(frame: pd.DataFrame, thresholds, window: Window) -> list[Verdict]:
    """One client-side slo_* verdict per threshold; no requests in the window: inconclusive."""
    stats = window_stats(frame, window)
    verdicts = []
    for expr in thresholds:
        t = parse_threshold(expr)
        if stats is None:
            verdicts.append(inconclusive("slo_client", t.expr, "Locust recorded no request in the window", window,
                                         subject=t.metric))
            continue
        value = stats.value(t)
        verdicts.append(judged("slo_client", t.holds(value), t.expr, f"{t.metric} = {describe(t.metric, value)}",
                               window, evidence={"requests": stats.requests, "failures": stats.failures,
                                                 "value": value}, subject=t.metric))
    return verdicts
