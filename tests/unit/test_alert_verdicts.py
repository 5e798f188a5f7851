"""alert_fired / alert_resolved / unexpected_critical_alerts over an alert timeline (the frame
probes.alerts.alert_timeline builds from ALERTS), and Prometheus durations."""

import pandas as pd
import pytest

from core.durations import seconds
from core.verdict import Window
from probes.alerts import TIMELINE_COLUMNS, alert_fired, alert_resolved, unexpected_critical_alerts

T0 = pd.Timestamp("2026-11-22T00:00:00Z")
WINDOW = Window(T0.to_pydatetime(), (T0 + pd.Timedelta(minutes=10)).to_pydatetime())
TIMING = {"for_s": 300.0, "eval_s": 5.0, "scrape_s": 5.0}


def at(s: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=s)


def timeline(*rows) -> pd.DataFrame:
    """rows: (alertname, severity, pending_s, firing_s, last_firing_s), None for never."""
    return pd.DataFrame([{"alertname": a, "labels": a, "severity": sev,
                          "pending_at": at(p) if p is not None else pd.NaT,
                          "firing_at": at(f) if f is not None else pd.NaT,
                          "last_firing_at": at(last) if last is not None else pd.NaT}
                         for a, sev, p, f, last in rows], columns=TIMELINE_COLUMNS)


def test_firing_within_detection_plus_for_plus_evaluation_plus_scrape_passes():
    verdict = alert_fired(timeline(("NodeDown", "critical", 25, 326, 400)), "NodeDown", at(0), 20, TIMING, WINDOW)
    assert verdict.status == "pass" and verdict.details["fire_after_s"] == 326 and verdict.details["bound_s"] == 330


def test_firing_later_than_the_budget_fails_with_the_excess():
    verdict = alert_fired(timeline(("NodeDown", "critical", 25, 345, 400)), "NodeDown", at(0), 20, TIMING, WINDOW)
    assert verdict.status == "fail" and verdict.reason == "took 15 s longer than its rule allows"


def test_never_firing_fails_and_says_whether_it_was_pending():
    verdict = alert_fired(timeline(("NodeDown", "critical", 25, None, None)), "NodeDown", at(0), 20, TIMING, WINDOW)
    assert verdict.status == "fail" and verdict.observed.startswith("never fired; pending since")
    assert alert_fired(timeline(), "NodeDown", at(0), 20, TIMING, WINDOW).observed == "never fired, never pending"


def test_already_firing_before_the_fault_cannot_be_timed():
    verdict = alert_fired(timeline(("NodeDown", "critical", None, 1, 400)), "NodeDown", at(10), 20, TIMING, WINDOW)
    assert verdict.status == "inconclusive"


def test_resolved_before_the_end_passes_and_still_firing_fails():
    resolved = alert_resolved(timeline(("NodeDown", "critical", 25, 326, 420)), "NodeDown", at(400), WINDOW)
    assert resolved.status == "pass" and resolved.details["resolved_after_s"] == 20
    # the window ends at 600 s: a step there with a firing sample is still firing; one at 598.3 s
    # means the step at 599 s found the series ended (resolved just before the run ended)
    stuck = alert_resolved(timeline(("NodeDown", "critical", 25, 326, 600)), "NodeDown", at(400), WINDOW)
    assert stuck.status == "fail"
    just = alert_resolved(timeline(("NodeDown", "critical", 25, 326, 598.3)), "NodeDown", at(400), WINDOW)
    assert just.status == "pass"
    assert alert_resolved(timeline(), "NodeDown", at(400), WINDOW).status == "inconclusive"


def test_only_unexpected_critical_alerts_fail():
    frame = timeline(("NodeDown", "critical", 25, 326, 420), ("Slow", "warning", 1, 2, 3),
                     ("Pending", "critical", 5, None, None))
    assert unexpected_critical_alerts(frame, {"NodeDown"}, WINDOW).status == "pass"
    verdict = unexpected_critical_alerts(frame, set(), WINDOW)
    assert verdict.status == "fail" and verdict.observed == "fired: NodeDown"


@pytest.mark.parametrize("text, value", [("5s", 5), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (15, 15)])
def test_prometheus_durations(text, value):
    assert seconds(text) == value


def test_a_malformed_duration_is_refused():
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        seconds("5 minutes")
