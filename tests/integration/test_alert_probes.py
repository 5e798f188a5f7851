"""Alert state through the probes, on a real Prometheus evaluating a test-only rule every second."""

import time

import pandas as pd

from core.verdict import Window
from edge.prometheus import Prometheus
from probes.alerts import active_alerts, alert_timeline
from probes.slo import request_rate


def test_pending_then_firing_is_timed_from_alerts_series(prometheus):
    time.sleep(6)  # `for: 3s` at a 1 s evaluation interval: firing by now
    now = time.time()
    timeline = alert_timeline(Prometheus(prometheus), Window.from_epoch(now - 600, now))
    row = timeline[timeline.alertname == "GamedayTestAlwaysFiring"].iloc[0]
    assert pd.notna(row.pending_at) and pd.notna(row.firing_at)
    held = (row.firing_at - row.pending_at).total_seconds()
    assert 3 <= held <= 3 + 2 * 1.0, held  # `for`, plus at most two evaluation/query steps


def test_active_alerts_lists_the_firing_alert_with_its_start(prometheus):
    alerts = {a["labels"]["alertname"]: a for a in active_alerts(prometheus)}
    assert alerts["GamedayTestAlwaysFiring"]["state"] == "firing"
    assert alerts["GamedayTestAlwaysFiring"]["activeAt"]


def test_request_rate_of_an_idle_route_is_zero_not_missing(prometheus, stack):
    now = time.time()
    rate = request_rate(Prometheus(prometheus), Window.from_epoch(now - 5, now), 'route="/api/plan"')
    assert rate is not None and rate >= 0
