"""Time-series charts as inline SVG: no script, no network, crisp at any zoom. Every chart of a
report shares one time axis (the run's span), so the chaos actions, drawn as shaded spans, line
up with what they caused on each chart."""

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

import numpy as np
import pandas as pd

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 960, 180, 56, 150, 14, 24
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


@dataclass(frozen=True)
class Span:
    start: float   # unix seconds
    end: float
    label: str
    kind: str = "action"   # action | fault (action to rollback) | load (above the baseline): the CSS class


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round values for an axis from low to high."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = (low // step) * step
    return [first + i * step for i in range(count + 2) if low <= first + i * step <= high + 1e-9]


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


Points = list[tuple[float, float | None]] | pd.Series


def chart(title: str, series: dict[str, Points], t0: float, t1: float,
          spans: list[Span] = (), unit: str = "", y_max: float | None = None) -> str:
    """One chart: a line per series ({label: [(unix_ts, value or None for a gap)]}, or a Series
    of values indexed by unix_ts: a day at 1 s is not made a list of tuples), the spans shaded
    behind them, x from t0 to t1 in minutes:seconds since t0."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    series = {name: _arrays(points) for name, points in series.items()}
    highest = max((np.nanmax(v) for _, v in series.values() if np.isfinite(v).any()), default=None)
    top = y_max if y_max is not None else (highest * 1.1 if highest is not None and highest > 0 else 1.0)
    span_t = max(t1 - t0, 1e-9)

    def x(t: float) -> float:
        return LEFT + (min(max(t, t0), t1) - t0) / span_t * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - min(v, top) / top * plot_h

    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
           f'<text x="{LEFT}" y="{TOP - 3}" class="title">{escape(title)}{f" ({escape(unit)})" if unit else ""}</text>']
    for span in spans:
        out.append(f'<rect class="span {span.kind}" x="{x(span.start):.1f}" y="{TOP}" width="{max(x(span.end) - x(span.start), 1.5):.1f}"'
                   f' height="{plot_h}"><title>{escape(span.label)}</title></rect>')
    for tick in _ticks(0, top):
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                   f'<text class="axis" x="{LEFT - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    step = next((s for s in (5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600) if span_t / s <= 10), 43200)
    for tick in range(0, int(span_t) + 1, step):
        minutes, seconds = divmod(int(tick), 60)
        out.append(f'<text class="axis" x="{x(t0 + tick):.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                   f'{minutes}:{seconds:02d}</text>')
    for i, (name, (t, v)) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        for run in _runs(_thinned(t, v, t0, t1, plot_w)):
            path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}">'
                       f'<title>{escape(name)}</title></polyline>')
        out.append(f'<rect x="{WIDTH - RIGHT + 8}" y="{TOP + 14 * i}" width="10" height="3" fill="{colour}"/>'
                   f'<text class="legend" x="{WIDTH - RIGHT + 22}" y="{TOP + 14 * i + 5}">{escape(name)}</text>')
    if highest is None:
        out.append(f'<text class="empty" x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle">'
                   "no data recorded</text>")
    out.append("</svg>")
    return "".join(out)


def _arrays(points: Points) -> tuple[np.ndarray, np.ndarray]:
    """(times, values) of a series, a gap (None) as NaN."""
    if isinstance(points, pd.Series):
        return points.index.to_numpy(dtype=float), points.to_numpy(dtype=float, na_value=np.nan)
    t = np.fromiter((p[0] for p in points), float, len(points))
    v = np.fromiter((np.nan if p[1] is None else p[1] for p in points), float, len(points))
    return t, v


def thinned(points: Points, t0: float, t1: float, columns: int) -> list:
    """The points inside [t0, t1], at most the first, lowest, highest and last of each pixel
    column (M4): a 24 h series at 1 s draws as fast as a minute's, and keeps every dip and spike.
    A column with a gap keeps the gap."""
    return _thinned(*_arrays(points), t0, t1, columns)


def _thinned(t: np.ndarray, v: np.ndarray, t0: float, t1: float, columns: int) -> list:
    if not len(t):
        return []
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    inside = (t >= t0) & (t <= t1)
    t, v = t[inside], v[inside]
    if len(t) > 4 * columns:
        column = ((t - t0) / ((t1 - t0) / columns or 1)).astype(int)
        frame = pd.DataFrame({"c": column, "v": v, "i": np.arange(len(t))})
        groups = frame.groupby("c")
        keep = [groups.i.first(), groups.i.last(), frame.loc[v == v].groupby("c").v.idxmin(),
                frame.loc[v == v].groupby("c").v.idxmax(), frame.loc[v != v].groupby("c").i.first()]
        picked = np.unique(np.concatenate([k.to_numpy() for k in keep]).astype(int))
        t, v = t[picked], v[picked]
    return [(float(a), None if b != b else float(b)) for a, b in zip(t, v)]


def _runs(points: list[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Unbroken stretches of points: a None (no data) breaks the line instead of bridging it."""
    runs, current = [], []
    for t, v in points:  # in time order: thinned() sorts
        if v is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((t, v))
    return runs + [current] if current else runs


def clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S")
