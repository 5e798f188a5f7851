"""The burn-rate rules compressed for kind: current with their source and stack.yaml, and the
duration arithmetic they rest on."""

import pytest

from edge.stack import load_stack
from gameday.burn_rate import divide, format_duration, render


def test_compressed_rules_are_current_with_their_source():
    for path, text in render(load_stack().burn_rate_window_divisor).items():
        assert path.read_text() == text, f"{path} is stale: run `make rules`"


@pytest.mark.parametrize("duration, divisor, expected", [
    ("1h", 12, "5m"), ("5m", 12, "25s"), ("30m", 12, "2m30s"), ("6h", 12, "30m"), ("90m", 12, "7m30s"),
    ("1m", 1, "1m"), ("2d", 24, "2h"),
])
def test_divide(duration, divisor, expected):
    assert divide(duration, divisor) == expected


def test_a_window_that_does_not_divide_into_seconds_is_refused():
    with pytest.raises(ValueError, match="whole seconds"):
        divide("5m", 7)
    with pytest.raises(ValueError, match="simple Prometheus duration"):
        divide("1h30m", 2)


def test_format_duration():
    assert [format_duration(s) for s in (0, 59, 60, 3661)] == ["0s", "59s", "1m", "1h1m1s"]
