"""The monitoring `make deploy` leaves: Prometheus on 127.0.0.1:30090 with every target up, the
series the verdicts need, our rules loaded, which seed rules can fire on this cluster, and alerts
delivered through Alertmanager to the alert sink on 127.0.0.1:30094."""

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
import yaml

from core.verdict import Window
from edge.prometheus import Prometheus
from edge.stack import load_stack
from probes.alerts import alert_can_fire
from probes.delivery import await_delivery
from tests.alerting import SWITCH_ALERT, SWITCH_RULE_FILE, set_extra_rule, switch_rule

pytestmark = pytest.mark.cluster  # every test here needs the kind cluster

SEED = load_stack()  # stack.yaml: the seed stack and its monitoring on 127.0.0.1
PROMETHEUS, ALERT_SINK = SEED.prometheus_url, SEED.alert_sink_url
RULES = Path(__file__).resolve().parents[2] / "deploy/monitoring/rules"


def recent(seconds=120):
    now = time.time()
    return Window.from_epoch(now - seconds, now)


def test_every_target_is_up():
    targets = requests.get(f"{PROMETHEUS}/api/v1/targets?state=active", timeout=10).json()["data"]["activeTargets"]
    jobs = {t["labels"]["job"] for t in targets}
    assert {"kubernetes-pods", "kube-state-metrics", "kubelet", "cadvisor"} <= jobs, jobs
    down = [(t["labels"]["job"], t["scrapeUrl"], t["lastError"]) for t in targets if t["health"] != "up"]
    assert not down, down


def test_the_series_the_verdicts_need_are_there():
    prom = Prometheus(PROMETHEUS)
    for metric in ("kube_horizontalpodautoscaler_status_current_replicas",
                   "kube_poddisruptionbudget_status_current_healthy", "kube_pod_status_ready",
                   "kube_node_status_condition", "container_cpu_usage_seconds_total",
                   "http_requests_total", "agent_requests_total"):
        assert prom.series_exist(metric, recent()), metric
    apps = {labels["app"] for labels, _ in prom.instant('count by (app) (http_requests_total{namespace="gameday"})')}
    assert apps == {"core-api", "mca", "npa", "wpa"}


def test_our_rule_files_are_loaded():
    groups = {g["name"] for g in requests.get(f"{PROMETHEUS}/api/v1/rules", timeout=10).json()["data"]["groups"]}
    assert {"seed-alerts", "stateful-tier", "core-api-slo-recording", "core-api-slo-alerts"} <= groups


def test_every_stateful_tier_alert_can_fire_here_and_none_fires_on_the_healthy_tier():
    """Patroni's and the Redis exporter's metrics are scraped, and none of the alerts is pending or
    firing on a healthy tier (a rule that is always true would be noise on every game day)."""
    prom = Prometheus(PROMETHEUS)
    rules = yaml.safe_load((RULES / "stateful-alerts.yaml").read_text())["groups"][0]["rules"]
    verdicts = {r["alert"]: alert_can_fire(prom, r["alert"], r["expr"], recent(300)) for r in rules}
    assert {n: v.status for n, v in verdicts.items()} == dict.fromkeys(
        ["PostgresNoPrimary", "PostgresReplicationLagHigh", "RedisClusterStateNotOk", "RedisMasterWithoutReplica"], "pass")
    for rule in rules:
        assert prom.instant(rule["expr"]) == [], rule["alert"]


def test_which_seed_rules_can_fire_here():
    """All but HPAScalingEvent: it names kube_hpa_status_current_replicas, kube-state-metrics'
    pre-v2 name (now kube_horizontalpodautoscaler_status_current_replicas)."""
    prom = Prometheus(PROMETHEUS)
    rules = yaml.safe_load((RULES / "seed-alerts.yaml").read_text())["groups"][0]["rules"]
    verdicts = {r["alert"]: alert_can_fire(prom, r["alert"], r["expr"], recent(300)) for r in rules}
    dead = {name for name, v in verdicts.items() if v.status != "pass"}
    assert dead == {"HPAScalingEvent"}, {n: v.reason for n, v in verdicts.items() if v.status != "pass"}
    assert verdicts["HPAScalingEvent"].status == "fail"


def test_an_alert_reaches_the_webhook_receiver_firing_then_resolved():
    start = datetime.now(timezone.utc)
    try:
        set_extra_rule(SWITCH_RULE_FILE, switch_rule(on=True))
        # 5 s evaluation, 1 s group_wait, 5 s resend when a send was lost to the reload
        fired = await_delivery(ALERT_SINK, SWITCH_ALERT, start, timeout_s=90)
        assert fired.status == "pass", fired
        off = datetime.now(timezone.utc)
        set_extra_rule(SWITCH_RULE_FILE, switch_rule(on=False))
        resolved = await_delivery(ALERT_SINK, SWITCH_ALERT, off, timeout_s=90, status="resolved")
        assert resolved.status == "pass", resolved
    finally:
        set_extra_rule(SWITCH_RULE_FILE, None)
