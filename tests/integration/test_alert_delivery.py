"""Alert delivery through real parts: a rule in Prometheus -> Alertmanager with the routing of
deploy/monitoring -> the alert sink, judged by probes.delivery."""

from datetime import datetime, timedelta, timezone

import requests

from probes.delivery import alert_was_delivered, await_delivery
from tests.alerting import SWITCH_ALERT, SWITCH_RULE_FILE, switch_rule
from tests.integration.local import free_port


def load_switch_rule(prometheus: str, rule_dir, on: bool) -> None:
    (rule_dir / SWITCH_RULE_FILE).write_text(switch_rule(on))
    requests.post(f"{prometheus}/-/reload", timeout=10).raise_for_status()


def test_a_rule_turned_on_is_delivered_firing_then_resolved_when_off(prometheus, alert_sink, extra_rules):
    start = datetime.now(timezone.utc)
    try:
        load_switch_rule(prometheus, extra_rules, on=True)
        fired = await_delivery(alert_sink, SWITCH_ALERT, start, timeout_s=60)
        assert fired.status == "pass", fired
        assert fired.details["delivered_after_s"] >= 0

        off = datetime.now(timezone.utc)
        load_switch_rule(prometheus, extra_rules, on=False)
        resolved = await_delivery(alert_sink, SWITCH_ALERT, off, timeout_s=60, status="resolved")
        assert resolved.status == "pass", resolved
    finally:
        (extra_rules / SWITCH_RULE_FILE).unlink(missing_ok=True)
        requests.post(f"{prometheus}/-/reload", timeout=10)


def test_an_alert_that_never_fired_is_not_delivered(prometheus, alert_sink):
    # the always-firing test rule is delivered meanwhile: the sink works, and says so
    since = datetime.now(timezone.utc) - timedelta(minutes=10)
    delivered = await_delivery(alert_sink, "GamedayTestAlwaysFiring", since, timeout_s=60)
    assert delivered.status == "pass", delivered
    verdict = alert_was_delivered(alert_sink, "NoSuchAlertEverFired", within_s=600)
    assert verdict["status"] == "fail"
    assert "GamedayTestAlwaysFiring" in verdict["observed"]


def test_an_unreachable_sink_is_inconclusive_naming_its_url():
    url = f"http://127.0.0.1:{free_port()}"
    verdict = alert_was_delivered(url, SWITCH_ALERT, within_s=60)
    assert verdict["status"] == "inconclusive"
    assert url in verdict["reason"]
