"""Client-side window statistics and threshold verdicts, over timelines built by hand."""

import pandas as pd
import pytest

from core.load_stats import judge_thresholds, window_stats
from core.verdict import Window


def timeline(rows):
    return pd.DataFrame(rows, columns=["t", "method", "name", "requests", "failures", "rt_ms"])


FRAME = timeline([
    (100, "GET", "/a", 10, 0, {"10": 9, "900": 1}),
    (101, "GET", "/a", 10, 1, {"10": 10}),
    (101, "GET", "/b", 80, 4, {"20": 76, "2000": 4}),
    (105, "GET", "/a", 5, 0, {"10": 5}),
])


def test_window_sums_only_seconds_inside_it():
    s = window_stats(FRAME, Window.from_epoch(100, 102))
    assert (s.requests, s.failures) == (100, 5)
    assert s.rps == pytest.approx(50)
    assert s.error_ratio == pytest.approx(0.05)


def test_quantiles_merge_seconds_and_endpoints():
    s = window_stats(FRAME, Window.from_epoch(100, 102))
    assert s.quantile_s(0.5) == pytest.approx(0.020)
    assert s.quantile_s(0.95) == pytest.approx(0.020)
    assert s.quantile_s(0.97) == pytest.approx(2.0)
    assert s.max_s == pytest.approx(2.0)
    only_a = window_stats(FRAME, Window.from_epoch(100, 102), name="/a")
    assert only_a.quantile_s(0.95) == pytest.approx(0.010) and only_a.max_s == pytest.approx(0.9)


def test_thresholds_pass_and_fail_on_the_numbers():
    verdicts = {v.name: v for v in judge_thresholds(
        FRAME, ["p95 < 100ms", "error_ratio < 5%", "p99 < 1s"], Window.from_epoch(100, 102))}
    assert verdicts["slo_client[p95]"].status == "pass"
    assert verdicts["slo_client[error_ratio]"].status == "fail"  # exactly 5 % is not < 5 %
    assert verdicts["slo_client[p99]"].status == "fail"
    assert verdicts["slo_client[p99]"].evidence["requests"] == 100


def test_no_requests_in_window_is_inconclusive_never_pass():
    [v] = judge_thresholds(FRAME, ["p95 < 1s"], Window.from_epoch(102, 105))
    assert v.status == "inconclusive" and "no request" in v.reason
