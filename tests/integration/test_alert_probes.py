"""Alert state through the probes, on a real Prometheus evaluating a test-only rule every second."""

import time

import pandas as pd

from core.checks import AlertFired
from core.predictions import shown_prediction
from core.verdict import Window
from edge.prometheus import Prometheus
from gameday.predictions import alerts_fire_by
from probes.alerts import active_alerts, alert_timeline
from probes.slo import request_rate
from tests.waiting import wait_until


def fired(prometheus: str, alertname: str):
    """The alert's timeline row once ALERTS shows it firing, else None."""
    now = time.time()
    timeline = alert_timeline(Prometheus(prometheus), Window.from_epoch(now - 600, now))
    rows = timeline[(timeline.alertname == alertname) & timeline.firing_at.notna()]
    return None if rows.empty else rows.iloc[0].to_dict()


def test_pending_then_firing_is_timed_from_alerts_series(prometheus):
    row = wait_until(lambda: fired(prometheus, "GamedayTestAlwaysFiring"), timeout=30, interval=0.5,
                     what="the always-true rule to fire (`for: 3s`)")
    assert pd.notna(row["pending_at"]) and pd.notna(row["firing_at"])
    held = (row["firing_at"] - row["pending_at"]).total_seconds()
    assert 3 <= held <= 3 + 2 * 1.0, held  # `for`, plus at most two evaluation/query steps


def test_active_alerts_lists_the_firing_alert_with_its_start(prometheus):
    alerts = {a["labels"]["alertname"]: a for a in active_alerts(prometheus)}
    assert alerts["GamedayTestAlwaysFiring"]["state"] == "firing"
    assert alerts["GamedayTestAlwaysFiring"]["activeAt"]


def test_request_rate_of_an_idle_route_is_zero_not_missing(prometheus, stack):
    def rate():   # a rate needs two scrapes in the window: a fresh Prometheus has one
        now = time.time()
        return request_rate(Prometheus(prometheus), Window.from_epoch(now - 5, now), 'route="/api/plan"')
    assert wait_until(lambda: rate() is not None, timeout=15, interval=0.5,
                      what="two scrapes of the never-requested /api/plan counter")
    assert rate() >= 0


def test_an_expected_alert_is_predicted_from_its_loaded_rule_or_never_fires(prometheus):
    # the test rule: for 3 s, evaluated and scraped every second; the fault shows in a metric within 10 s
    spec = AlertFired("GamedayTestAlwaysFiring", after="break-it", detection_s=10)
    timed = alerts_fire_by(prometheus, spec)
    assert (timed.verdict, timed.predicted, timed.low, timed.high) == ("alert_fired[GamedayTestAlwaysFiring]", 15, 0, 15)
    assert "detection 10 + for 3 + evaluation 1 + scrape 1 s" in timed.why
    assert shown_prediction(timed) == "≤ 15"
    missing = alerts_fire_by(prometheus, AlertFired("NoSuchRuleHere", after="break-it"))
    assert missing.predicted is False and "no alerting rule named 'NoSuchRuleHere' is loaded" in missing.why
    unreachable = alerts_fire_by("http://127.0.0.1:9", spec)
    assert unreachable.predicted is None and unreachable.why.startswith("its rule could not be read: ")
