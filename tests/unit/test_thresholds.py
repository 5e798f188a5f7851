import pytest

from core.thresholds import ThresholdError, parse_threshold


@pytest.mark.parametrize("expr, metric, op, limit", [
    ("p95 < 1s", "p95", "<", 1.0),
    ("p99<=1500ms", "p99", "<=", 1.5),
    ("p99.9 < 2s", "p99.9", "<", 2.0),
    ("avg < 200ms", "avg", "<", 0.2),
    ("error_ratio < 5%", "error_ratio", "<", 0.05),
    ("error_ratio <= 0.01", "error_ratio", "<=", 0.01),
    ("rps > 100", "rps", ">", 100.0),
])
def test_parses_k6_style_thresholds(expr, metric, op, limit):
    t = parse_threshold(expr)
    assert (t.metric, t.op) == (metric, op)
    assert t.limit == pytest.approx(limit)


@pytest.mark.parametrize("expr", [
    "p95 < 1", "p95 < 1%", "error_ratio < 5ms", "error_ratio < 120%", "rps > 10s",
    "p95 = 1s", "latency < 1s", "", "p95 <", 42, None, "p0 < 1s",
])
def test_rejects_what_it_cannot_judge(expr):
    with pytest.raises(ThresholdError):
        parse_threshold(expr)


def test_holds_compares_in_base_units():
    assert parse_threshold("p95 < 800ms").holds(0.79)
    assert not parse_threshold("p95 < 800ms").holds(0.8)
    assert parse_threshold("rps >= 10").holds(10)
    assert parse_threshold("p95 < 1s").quantile == pytest.approx(0.95)
