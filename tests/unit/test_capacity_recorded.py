"""The capacity model of a real step-load run (capacity-step-load on the kind cluster, kept in
tests/fixtures/game-days/): recomputed offline from the run's own artifacts it agrees with what
the judge computed live, and the report prints it with its method and uncertainty."""

import json

import pytest

from core.thresholds import parse_threshold
from core.verdict import Window
from edge.files import read_json_lines
from edge.rundir import load_readiness, load_timeline, load_users
from gameday.record import recorded_deployment_samples
from probes.capacity import capacity_for_target, load_steps
from reports.build import build_report
from tests.recorded import recorded_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return recorded_run("capacity-step-load", tmp_path_factory.mktemp("recorded"))


def judged(run):
    verdicts = json.loads((run / "verdicts.json").read_text())["verdicts"]
    return next(v for v in verdicts if v["name"].startswith("capacity_for_target"))


def test_the_model_recomputed_from_the_artifacts_agrees_with_the_live_one(run):
    live = judged(run)
    ready = load_readiness(run / "readiness.jsonl")
    hpas = {d: {"cpu_target_pct": m["cpu_target_pct"], "max": m["max_replicas"]}
            for d, m in live["details"]["deployments"].items()}
    offline = capacity_for_target(
        load_steps(load_users(run / "load" / "locust_stats_history.csv")), load_timeline(run / "load" / "timeline.jsonl"),
        recorded_deployment_samples(read_json_lines(run / "prometheus.jsonl")), ready[ready.kind == "deployment"], hpas,
        [parse_threshold("p95 < 1s"), parse_threshold("error_ratio < 5%")], 100, 3, Window.from_epoch(1, 2))
    assert offline.status == live["status"] == "fail"
    for name in ("core-api", "mca"):
        now, then = offline.details["deployments"][name], live["details"]["deployments"][name]
        assert now["rps_per_replica"] == pytest.approx(then["rps_per_replica"], rel=0.1), name
        assert abs(now["replicas"]["zone_lost"] - then["replicas"]["zone_lost"]) <= 1, name
    assert "unloaded" in offline.details["deployments"]["wpa"]


def test_the_report_prints_the_model_its_knee_and_its_method(run):
    html = build_report(run).read_text()
    capacity = html[html.index("<h2>Capacity model"):]
    for needle in ("Target: <strong>100 requests/s</strong>", "one of 3 zones lost",
                   "No knee: every step held the SLO, up to 116 requests/s", "the saturation point lies beyond",
                   "<td>core-api</td><td>70 %</td>", "6.3 (5.8–6.9)", "<td>26 (27)</td>", "<td>20</td>",
                   "not modelled: answered no request of this load", "Method: Steps of constant users"):
        assert needle in capacity, needle
    assert "load above 10 users, up to 100</td><td>load</td>" in html   # the steps, shaded
