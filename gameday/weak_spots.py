"""`gameday check`: the stack's weak spots before any fault. The rules over its namespace's live
objects are core.weak_spots'; the alert rules Prometheus has loaded are checked here, each for a
metric it names that Prometheus does not have (probes.alerts.alert_can_fire)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from core.verdict import FAIL, PASS, Window
from core.weak_spots import Finding, weak_spots
from edge.kube import read_namespace
from edge.prometheus import Prometheus, PrometheusError
from edge.stack import Stack
from probes.alerts import alert_can_fire

LOOKBACK = timedelta(minutes=10)    # a metric with no series this long is not there


@dataclass
class Checked:
    findings: list[Finding]
    unchecked: list[str] = field(default_factory=list)  # what could not be looked at, and why


def alert_rules(prom: Prometheus) -> list[tuple[str, str, str]]:
    """(group, alert, expression) of every alerting rule Prometheus has loaded."""
    return [(group["name"], rule["name"], rule["query"]) for group in prom.api("rules", type="alert")["groups"]
            for rule in group["rules"] if rule.get("type") == "alerting"]


def alerts_naming_missing_metrics(prom: Prometheus) -> Checked:
    now = datetime.now(timezone.utc)
    window = Window(now - LOOKBACK, now)
    checked = Checked([])
    for group, alert, expr in alert_rules(prom):
        verdict = alert_can_fire(prom, alert, expr, window)
        if verdict.status == FAIL:
            checked.findings.append(Finding("alert_names_missing_metric", f"alert/{alert}",
                                            f"(group {group}) {verdict.reason}"))
        elif verdict.status != PASS:
            checked.unchecked.append(f"alert {alert}: {verdict.reason}")
    return checked


def check_stack(stack: Stack) -> Checked:
    """Every finding on the stack's namespace, then its Prometheus's alert rules; Prometheus
    unreachable leaves the objects' findings standing and says what was not checked."""
    checked = Checked(weak_spots(read_namespace(stack.kube_context, stack.namespace)))
    try:
        alerts = alerts_naming_missing_metrics(Prometheus(stack.prometheus_url))
    except PrometheusError as err:
        checked.unchecked.append(f"alert rules not checked: {err}")
    else:
        checked.findings += alerts.findings
        checked.unchecked += alerts.unchecked
    return checked
