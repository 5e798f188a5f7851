"""Did each source of evidence keep recording through the run? A verdict that passed on data with
a hole in it is not a pass: the readiness sampler losing the API, Locust dying, Prometheus
restarting (its TSDB is an emptyDir) each leave a stretch nobody measured, and "nothing bad was
seen" there means nothing. judge.py turns such a pass into `inconclusive` with the hole named.

    readiness   the sampler's lines (one a second, also when nothing changes)
    load        Locust's stats history (one row a second while Locust lives, requests or not), and
                every load worker lost mid-run (from its last report to its loss)
    prometheus  its scrapes (every 5 s; a restart loses everything before it)
"""

from dataclasses import dataclass

import pandas as pd

from core.generators import generators
from core.verdict import Window
from edge.prometheus import Prometheus, PrometheusError

# a second's line may be late by a second or two; Prometheus scrapes every 5 s, so one missed
# scrape is jitter and two are a hole
MAX_SILENCE_S = {"readiness": 5.0, "load": 5.0, "prometheus": 10.0}


@dataclass(frozen=True)
class Hole:
    source: str
    start: float
    end: float
    cause: str = ""

    def __str__(self) -> str:
        clock = lambda ts: pd.Timestamp(ts, unit="s", tz="UTC").strftime("%H:%M:%S")  # noqa: E731
        return (f"{self.source} has no data from {clock(self.start)} to {clock(self.end)} ({self.end - self.start:.0f} s)"
                + (f": {self.cause}" if self.cause else ""))


def holes(source: str, times: list[float], start: float, end: float, max_silence_s: float | None = None) -> list[Hole]:
    """The stretches of [start, end] longer than max_silence_s without a timestamp."""
    limit = MAX_SILENCE_S[source] if max_silence_s is None else max_silence_s
    edges = [start, *sorted(t for t in times if start <= t <= end), end]
    return [Hole(source, a, b) for a, b in zip(edges, edges[1:]) if b - a > limit]


def lost_workers(frame: pd.DataFrame | None, start: float, end: float) -> list[Hole]:
    """A load worker lost in [start, end]: the requests it made after its last report were never
    counted (the others took its users from then on)."""
    if frame is None:
        return []
    return [Hole("load", g.last_report, g.lost_at, f"{g.name} of the load was lost; its requests since its last "
                 "report are unknown") for g in generators(frame) if g.lost_at and start <= g.lost_at <= end]


def prometheus_times(prom: Prometheus, window: Window) -> list[float]:
    """When Prometheus scraped anything in the window: the raw sample times of every `up` series
    (a range query's steps would look back over a short freeze and hide it)."""
    seconds = max(1, round(window.seconds))
    result = prom.api("query", query=f"up[{seconds}s]", time=window.end.timestamp())["result"]
    return sorted({float(t) for series in result for t, _ in series["values"]})


def source_holes(run, source: str, window: Window) -> list[Hole]:
    """The holes of one source in the window; a source that cannot be read is one hole."""
    start, end = window.start.timestamp(), window.end.timestamp()
    if source == "readiness":
        times = [] if run.readiness is None else list(run.readiness.t.unique())
    elif source == "load":
        times = [] if run.users is None else list(run.users.t)
        return holes(source, times, start, end) + lost_workers(run.dir.generators, start, end)
    else:
        try:
            times = prometheus_times(Prometheus(run.stack.prometheus_url), window)
        except PrometheusError:
            return [Hole(source, start, end)]
    return holes(source, times, start, end)
