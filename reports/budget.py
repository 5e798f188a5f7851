"""Error budget and burn rate of a run, per SLO objective, from what clients saw (Locust's 1 s
timeline). An objective allows a share of bad requests: "error_ratio < 5%" allows 5 % failures,
"p95 < 1s" allows 5 % of requests at 1 s or slower. The burn rate is the bad share over the
allowed share: 1 spends the budget exactly as fast as the SLO period allows, 14.4 spends 2 % of a
30-day budget in an hour (the multi-window page), 6 is the ticket.

Vectorised over the load's PerSecond (core.load_stats: requests per second, and a long frame of
second, rounded latency, count), so a 24 h soak at 1 s builds in seconds, not minutes.
"""

import pandas as pd

from core.load_stats import PerSecond
from core.thresholds import Threshold, ThresholdError, parse_threshold

PERIOD_S = 30 * 24 * 3600   # the SLO period a budget is counted against
BURN_WINDOW_S = 60          # the burn-rate chart's rolling window
PAGE, TICKET = 14.4, 6.0    # the burn rates of deploy/monitoring/rules/slo-burn-rate.yaml


def budget_share(threshold: Threshold) -> float | None:
    """The share of requests an objective allows to be bad; None for objectives without one."""
    if threshold.metric == "error_ratio" and threshold.op in ("<", "<="):
        return threshold.limit
    if threshold.quantile is not None and threshold.op in ("<", "<="):
        return 1 - threshold.quantile
    return None


def bad_per_second(threshold: Threshold, seconds: pd.DataFrame, long: pd.DataFrame) -> pd.Series:
    if threshold.metric == "error_ratio":
        return seconds.failures
    slow = long[long.ms >= threshold.limit * 1000].groupby("t").n.sum()
    return slow.reindex(seconds.index, fill_value=0)


def objectives_of(verdicts: list[dict], profile: dict | None) -> list[Threshold]:
    """The client objectives the run was judged on (its slo_client verdicts), else its profile's."""
    exprs = [v["expected"] for v in verdicts if v["check"] == "slo_client"]
    parsed = []
    for expr in exprs or (profile or {}).get("thresholds", []):
        try:
            parsed.append(parse_threshold(expr))
        except ThresholdError:
            continue   # judged and reported elsewhere; a budget needs a parseable objective
    return parsed


def error_budgets(load: PerSecond, objectives: list[Threshold], faults: list[tuple[float, float]]) -> dict:
    """Per objective: bad requests, budget share, burn rate over the run, during the faults and
    outside them, the worst rolling burn, and the share of a 30-day budget the run spent (at its
    own traffic). Also the per-second burn-rate series for the chart."""
    seconds, long = load.counts, load.latencies
    if seconds.empty or seconds.requests.sum() == 0:
        return {"rows": [], "series": {}}
    during = pd.Series(False, index=seconds.index)
    for start, end in faults:
        during |= (seconds.index >= start) & (seconds.index <= end)
    rows, series = [], {}
    for objective in objectives:
        share = budget_share(objective)
        if share is None or share <= 0:
            continue
        bad = bad_per_second(objective, seconds, long)
        full = min(BURN_WINDOW_S, len(seconds))   # whole windows only: a run's first seconds are not a minute
        rolling = (bad.rolling(BURN_WINDOW_S, min_periods=full).sum()
                   / seconds.requests.rolling(BURN_WINDOW_S, min_periods=full).sum()) / share
        rows.append({"objective": objective.expr, "allowed": share, "requests": int(seconds.requests.sum()),
                     "bad": int(bad.sum()), "burn": _burn(bad, seconds.requests, share),
                     "burn_during_faults": _burn(bad[during], seconds.requests[during], share),
                     "burn_outside_faults": _burn(bad[~during], seconds.requests[~during], share),
                     "worst_burn": float(rolling.max()),
                     "period_spent": _burn(bad, seconds.requests, share) * len(seconds) / PERIOD_S})
        series[objective.expr] = [(float(t), None if v != v else float(v)) for t, v in rolling.items()]
    return {"rows": rows, "series": series}


def _burn(bad: pd.Series, requests: pd.Series, share: float) -> float | None:
    total = requests.sum()
    return float(bad.sum() / total / share) if total else None
