"""What Locust measured over a window, and client-side SLO verdicts from it: totals, error ratio,
rate and latency quantiles of its 1 s timeline (a frame: t, method, name, requests, failures,
rt_ms). Pure functions over frames: the unit tests build frames by hand."""

from collections import Counter
from dataclasses import dataclass
from itertools import chain

import numpy as np
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


@dataclass(frozen=True)
class PerSecond:
    """A load's timeline summed over its endpoints, second by second: what the charts and the error
    budgets read, a fraction of the timeline's size (no histogram per endpoint)."""
    counts: pd.DataFrame     # index t, every second from the first to the last; requests, failures
    latencies: pd.DataFrame  # t, ms, n: how many requests that second took ms (rounded)


def per_second(parts) -> PerSecond:
    """The PerSecond of a timeline, or of one read in parts (in file order: a second's lines are
    written together, so the part that ends in a second hands it whole to the next)."""
    parts = [parts] if isinstance(parts, pd.DataFrame) else parts
    counts, latencies, carried, ms = [], [], None, _Milliseconds()
    for part in parts:
        if carried is not None:
            part = pd.concat([carried, part], ignore_index=True)
        last = part.t.iloc[-1] if len(part) else None
        carried, part = part[part.t == last], part[part.t != last]
        counts.append(part.groupby("t")[["requests", "failures"]].sum())
        latencies.append(_latencies(part, ms))
    if carried is not None:
        counts.append(carried.groupby("t")[["requests", "failures"]].sum())
        latencies.append(_latencies(carried, ms))
    if not counts:
        return PerSecond(pd.DataFrame({"requests": [], "failures": []}), pd.DataFrame({"t": [], "ms": [], "n": []}))
    counts, latencies = pd.concat(counts), pd.concat(latencies, ignore_index=True)
    if counts.index.has_duplicates:  # lines of a second apart in the file (workers' reports arriving late)
        counts = counts.groupby(level=0).sum()
        latencies = latencies.groupby(["t", "ms"], as_index=False).n.sum()
    if not counts.empty:  # a second without any request is 0, not missing
        counts = counts.reindex(range(int(counts.index.min()), int(counts.index.max()) + 1), fill_value=0)
    return PerSecond(counts, latencies)


class _Milliseconds(dict):
    """A histogram's bucket names as numbers, each parsed once: a day holds millions of buckets
    but only the few hundred names Locust's rounding makes."""

    def __missing__(self, name: str) -> float:
        self[name] = value = float(name)
        return value


def _latencies(timeline: pd.DataFrame, ms: _Milliseconds) -> pd.DataFrame:
    histograms = list(timeline.rt_ms)
    sizes = np.fromiter(map(len, histograms), int, len(histograms))
    long = pd.DataFrame({  # chain and map iterate in C: a 24 h soak has 3.5 M buckets
        "t": np.repeat(timeline.t.to_numpy(dtype=float), sizes),
        "ms": np.array(list(map(ms.__getitem__, chain.from_iterable(histograms))), dtype=float),
        "n": np.fromiter(chain.from_iterable(map(dict.values, histograms)), int, int(sizes.sum()))})
    return long.groupby(["t", "ms"], as_index=False).n.sum()


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
