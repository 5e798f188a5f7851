"""Guardrails: parsing is strict, a streak crosses only after `for`, and the verdict is judged on
the samples as recorded: crossed is a fail with the data, blind long enough to hide a crossing is
inconclusive, never a pass."""

import re

import pandas as pd
import pytest

from core.guardrails import CLIENT, READINESS, SERVER, GuardrailError, Streak, parse_guardrail, parse_guardrails
from core.verdict import Window
from probes.guardrails import blind_stretches, guardrail_held

T0 = 1_763_758_800.0


@pytest.mark.parametrize("expr, source, metric, op, limit, for_s, deployment", [
    ("error_ratio > 20% for 30s", CLIENT, "error_ratio", ">", 0.2, 30, ""),
    ("client p95 > 2s for 1m", CLIENT, "p95", ">", 2.0, 60, ""),
    ("server error_ratio >= 0.5 for 1m30s", SERVER, "error_ratio", ">=", 0.5, 90, ""),
    ("server rps < 1 for 10s", SERVER, "rps", "<", 1, 10, ""),
    ("ready(core-api) < 1 for 20s", READINESS, "ready", "<", 1, 20, "core-api"),
    ("ready(mca) <= 1", READINESS, "ready", "<=", 1, 0, "mca"),
    ("p99 > 1500ms", CLIENT, "p99", ">", 1.5, 0, ""),
])
def test_parses_guardrails(expr, source, metric, op, limit, for_s, deployment):
    g = parse_guardrail(expr)
    assert (g.source, g.condition.metric, g.condition.op, g.for_s, g.deployment) == (source, metric, op, for_s, deployment)
    assert g.condition.limit == pytest.approx(limit)


@pytest.mark.parametrize("expr, says", [
    ("error_ratio > 20% for thirty", "not a duration"),
    ("server avg > 1s", "the server side has error_ratio, pNN and rps"),
    ("ready(core-api) < 0", "can never be crossed"),
    ("ready(Core_API) < 1", "ready(DEPLOYMENT) OP COUNT"),
    ("ready(core-api) < one", "ready(DEPLOYMENT) OP COUNT"),
    ("errors > 5", "METRIC OP VALUE"),
    ("error_ratio > 100%", "can never hold"),
    ("", "is not a string"),
    (42, "is not a string"),
])
def test_refuses_what_it_cannot_watch(expr, says):
    with pytest.raises(GuardrailError, match=re.escape(says)):
        parse_guardrail(expr)


def test_a_list_names_the_entry_that_is_wrong():
    with pytest.raises(GuardrailError, match=r"x.yaml: guardrails\[1\]: guardrail 'p95 > 2': "):
        parse_guardrails(["error_ratio > 20%", "p95 > 2"], "x.yaml: guardrails")
    with pytest.raises(GuardrailError, match="listed twice"):
        parse_guardrails(["ready(a) < 1", "ready(a) < 1"], "x")
    with pytest.raises(GuardrailError, match="a list of guardrails"):
        parse_guardrails("error_ratio > 20%", "x")


def feed(streak: Streak, values, start=T0, step=1.0):
    """Observes values one `step` apart; returns the first crossing (and its index)."""
    for i, value in enumerate(values):
        if crossing := streak.observe(start + i * step, value):
            return i, crossing
    return None, None


def test_crossed_only_once_the_condition_held_for_its_duration():
    g = parse_guardrail("error_ratio > 20% for 5s")
    i, crossing = feed(Streak(g), [0.3, 0.3, 0.3, 0.3, 0.3, 0.4, 0.3])
    assert i == 5 and crossing.since == T0 and crossing.held_s == 5 and crossing.worst == pytest.approx(0.4)


def test_a_dip_below_the_limit_or_a_blind_second_starts_over():
    g = parse_guardrail("error_ratio > 20% for 3s")
    assert feed(Streak(g), [0.3, 0.3, 0.1, 0.3, 0.3, None, 0.3, 0.3])[1] is None
    i, crossing = feed(Streak(g), [0.3, 0.3, 0.1, 0.3, 0.3, 0.3, 0.3])
    assert i == 6 and crossing.since == T0 + 3


def test_without_for_the_first_crossing_sample_halts():
    i, crossing = feed(Streak(parse_guardrail("ready(core-api) < 1")), [2, 1, 0])
    assert i == 2 and crossing.worst == 0 and crossing.held_s == 0


def test_samples_too_far_apart_do_not_make_a_streak():
    """A watcher stalled for longer than a blind stretch may be did not see the condition hold."""
    g = parse_guardrail("error_ratio > 20% for 10s")
    assert feed(Streak(g), [0.5] * 4, step=11)[1] is None


def samples(values, start=T0, blind="Locust recorded no request in the last 5 s"):
    return pd.DataFrame({"t": [start + i for i in range(len(values))], "value": values,
                         "blind": [blind if v is None else None for v in values]})


def watch(seconds: float, start=T0) -> Window:
    return Window.from_epoch(start, start + seconds)


def test_never_crossed_and_watched_throughout_passes_with_the_closest_value():
    g = parse_guardrail("error_ratio > 20% for 30s")
    v = guardrail_held(g, samples([0.0, 0.05, 0.12, 0.01] * 10), watch(40))
    assert v.status == "pass" and v.subject == g.expr and "never past the limit; closest: error_ratio = 12.0%" in v.observed, v


def test_past_the_limit_for_less_than_its_for_passes_and_says_how_long():
    v = guardrail_held(parse_guardrail("error_ratio > 20% for 30s"), samples([0.0] * 5 + [1.0] * 21 + [0.0] * 5), watch(31))
    assert v.status == "pass" and v.observed.startswith("past the limit for 20 s at most, not the 30 s"), v
    assert "worst: error_ratio = 100.0%" in v.observed and v.evidence["longest_past_limit_s"] == 20


def test_crossed_fails_with_the_values_that_crossed_it():
    g = parse_guardrail("error_ratio > 20% for 5s")
    v = guardrail_held(g, samples([0.0] * 12 + [0.5] * 8), watch(30), halted={"since": T0 + 12, "at": T0 + 17,
                                                                              "worst": 0.5})
    assert v.status == "fail" and "error_ratio = 50.0% (worst), crossed for 5 s" in v.observed
    assert "it halted the game day" in v.observed and v.details["crossed_after_s"] == 12
    assert [t for t, _ in v.evidence["series"]][-1] == T0 + 17 and v.evidence["limit"] == pytest.approx(0.2)


def test_a_recorded_crossing_fails_even_if_nothing_halted():
    """The judge replays the samples: a crossing the run did not halt on (the watcher died just then) still fails."""
    v = guardrail_held(parse_guardrail("ready(core-api) < 1 for 2s"), samples([3, 0, 0, 0, 3]), watch(5))
    assert v.status == "fail" and "ready(core-api) = 0" in v.observed and "halted" not in v.observed


def test_blind_long_enough_to_hide_a_crossing_is_inconclusive_never_a_pass():
    g = parse_guardrail("error_ratio > 20% for 5s")
    v = guardrail_held(g, samples([0.0] * 10 + [None] * 6 + [0.0] * 10), watch(26))
    assert v.status == "inconclusive" and "blind for 7 s" in v.reason and "no request" in v.reason, v
    short = guardrail_held(g, samples([0.0] * 10 + [None] * 3 + [0.0] * 10), watch(23))
    assert short.status == "pass", short


def test_a_watcher_that_stopped_early_or_started_late_leaves_the_verdict_inconclusive():
    g = parse_guardrail("ready(core-api) < 1")
    stopped = guardrail_held(g, samples([3] * 10), watch(60))
    assert stopped.status == "inconclusive" and "watcher stopped" in stopped.reason
    late = guardrail_held(g, samples([3] * 10, start=T0 + 20), watch(30))
    assert late.status == "inconclusive" and "no sample yet" in late.reason


def test_no_sample_or_no_method_is_inconclusive():
    g = parse_guardrail("error_ratio > 20%")
    assert guardrail_held(g, samples([]), watch(10)).status == "inconclusive"
    assert guardrail_held(g, samples([0.0]), None).reason.startswith("the method never started")


def test_blind_stretches_name_their_reason_and_bounds():
    found = blind_stretches(samples([1, None, None, None, None, 1], blind="Prometheus unreachable"), watch(6), 3)
    assert found == [(T0, T0 + 5, "Prometheus unreachable")]
