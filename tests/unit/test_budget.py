"""Error budget and burn rate per objective, over timelines built by hand: what an objective
allows, what the run spent, inside and outside the faults."""

import pandas as pd
import pytest

from core.load_stats import per_second
from core.thresholds import parse_threshold
from core.verdict import Verdict
from reports.budget import PERIOD_S, budget_share, error_budgets, objectives_of

T0 = 1_800_000_000


def timeline(seconds: int, failures_at: dict[int, int] = {}, slow_at: dict[int, int] = {}) -> pd.DataFrame:
    """100 requests a second at 20 ms; some failed, some at 1.5 s."""
    rows = []
    for s in range(seconds):
        slow = slow_at.get(s, 0)
        rows.append({"t": T0 + s, "method": "GET", "name": "/", "requests": 100, "failures": failures_at.get(s, 0),
                     "rt_ms": {"20.0": 100 - slow, **({"1500.0": slow} if slow else {})}})
    return pd.DataFrame(rows, columns=["t", "method", "name", "requests", "failures", "rt_ms"])


@pytest.mark.parametrize("expr,share", [("error_ratio < 5%", 0.05), ("p95 < 1s", 0.05), ("p99 < 300ms", 0.01),
                                        ("rps > 10", None), ("max < 2s", None)])
def test_what_an_objective_allows(expr, share):
    assert budget_share(parse_threshold(expr)) == (pytest.approx(share) if share else None)


def test_burn_rate_is_the_bad_share_over_the_allowed_share_in_and_out_of_the_faults():
    run = timeline(100, failures_at={s: 50 for s in range(40, 50)}, slow_at={s: 10 for s in range(0, 100)})
    objectives = [parse_threshold("error_ratio < 5%"), parse_threshold("p95 < 1s")]
    budgets = error_budgets(per_second(run), objectives, faults=[(T0 + 40, T0 + 59)])
    errors, latency = budgets["rows"]
    assert errors["bad"] == 500 and errors["requests"] == 10_000
    assert errors["burn"] == pytest.approx(0.05 / 0.05)                  # 5 % failed, 5 % allowed
    assert errors["burn_during_faults"] == pytest.approx(500 / 2000 / 0.05)
    assert errors["burn_outside_faults"] == 0
    assert errors["worst_burn"] == pytest.approx(500 / 6000 / 0.05)       # the 60 s windows holding all ten
    assert errors["period_spent"] == pytest.approx(1.0 * 100 / PERIOD_S)
    assert latency["bad"] == 1000 and latency["burn"] == pytest.approx(0.10 / 0.05)
    assert set(budgets["series"]) == {"error_ratio < 5%", "p95 < 1s"}


def test_no_traffic_no_budget():
    assert error_budgets(per_second(timeline(0)), [parse_threshold("error_ratio < 5%")], []) == {"rows": [], "series": {}}


def test_the_objectives_are_those_the_run_was_judged_on_else_the_profiles():
    verdicts = [Verdict("slo_client", "pass", "p95 < 800ms", "", subject="p95").to_dict(),
                Verdict("slo_server", "pass", "x", "", subject="p95").to_dict()]
    assert [o.expr for o in objectives_of(verdicts, {"thresholds": ["p99 < 1s"]})] == ["p95 < 800ms"]
    assert [o.expr for o in objectives_of([], {"thresholds": ["p99 < 1s"]})] == ["p99 < 1s"]
