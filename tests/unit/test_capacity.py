"""The capacity model's arithmetic over frames built by hand: steps from the user count, the fit
and its band, the knee, and replicas with a zone lost."""

import json

import pandas as pd
import pytest

from core.thresholds import parse_threshold
from core.sizing import replicas_with_a_zone_lost
from edge.rundir import load_timeline
from probes.capacity import Step, capacity_for_target, fit_line, knee, load_steps
from core.verdict import Window

T0 = 1_800_000_000
OBJECTIVES = [parse_threshold("p95 < 1s"), parse_threshold("error_ratio < 5%")]


def test_steps_are_stretches_of_constant_users_judged_on_their_last_half():
    users = pd.DataFrame({"t": range(T0, T0 + 200), "users": [0] * 10 + [10] * 90 + [25] * 90 + [40] * 10})
    steps = load_steps(users)
    assert [s.users for s in steps] == [10, 25]          # 0 users is no step, 10 s is a ramp
    assert steps[0].end == T0 + 99 and steps[0].start == pytest.approx(T0 + 99 - 89 / 2)


def test_the_fit_solves_for_the_target_with_a_band_that_widens_with_noise():
    exact = fit_line([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    assert exact.x_at(70) == (pytest.approx(7), pytest.approx(0, abs=1e-6))
    noisy = fit_line([1, 2, 3, 4, 5], [12, 18, 33, 38, 51])
    x, error = noisy.x_at(70)
    assert 6 < x < 8 and error > 0.1 and noisy.r2 < 1
    assert fit_line([1, 2, 3], [10, 20, 30]).x_at(70)[1] is None   # three points: no error estimate


@pytest.mark.parametrize("needed,zones,expected", [(4, 3, 6), (6, 3, 9), (1, 3, 2), (3, 2, 6), (10, 4, 14)])
def test_replicas_survive_losing_the_fullest_zone(needed, zones, expected):
    n = replicas_with_a_zone_lost(needed, zones)
    assert n == expected and n - -(-n // zones) >= needed


def test_a_single_zone_cannot_lose_one():
    assert replicas_with_a_zone_lost(5, 1) is None


def test_the_knee_is_the_first_step_that_broke_an_objective():
    clients = [{"users": 10, "rps": 13.0, "held": True, "broken": []},
               {"users": 40, "rps": 50.0, "held": True, "broken": []},
               {"users": 70, "rps": 61.0, "held": False, "broken": ["p95 < 1s"]},
               {"users": 100, "rps": 62.0, "held": False, "broken": ["p95 < 1s", "error_ratio < 5%"]}]
    assert knee(clients) == {"held_rps": 50.0, "held_users": 40, "broke_rps": 61.0, "broke_users": 70,
                             "broke": ["p95 < 1s"]}


def step_run(tmp_path, per_pod_rps: list[float], util_pct: list[float], pods: int, slow_from: int | None = None):
    """Steps of 60 s; the entry serves pods × per_pod_rps; clients slow past `slow_from`."""
    steps, lines, samples, ready = [], [], [], []
    for i, (rps, util) in enumerate(zip(per_pod_rps, util_pct)):
        start = T0 + 60 * i
        steps.append(Step(10 * (i + 1), start + 30, start + 60))
        for s in range(60):
            slow = slow_from is not None and i >= slow_from
            lines.append({"t": start + s, "method": "GET", "name": "/", "requests": int(rps * pods), "failures": 0,
                          "rt_ms": {"1500.0" if slow else "40.0": int(rps * pods)}})
            ready.append({"t": start + s, "name": "api", "ready": pods})
        for s in range(0, 60, 5):
            samples.append({"t": start + s, "deployment": "api", "rps": rps * pods,
                            "cpu_cores": util / 100 * 0.1 * pods, "request_cores": 0.1})
    (tmp_path / "timeline.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    return steps, load_timeline(tmp_path / "timeline.jsonl"), pd.DataFrame(samples), pd.DataFrame(ready)


def test_a_linear_stack_gets_its_replicas_per_replica_rate_and_zone_margin(tmp_path):
    steps, timeline, samples, ready = step_run(tmp_path, [5, 10, 15, 20], [20, 40, 60, 80], pods=3, slow_from=3)
    window = Window.from_epoch(T0, T0 + 240)
    verdict = capacity_for_target(steps, timeline, samples, ready, {"api": {"cpu_target_pct": 70, "max": 10}},
                                  OBJECTIVES, 105, 3, window)
    model = verdict.details["deployments"]["api"]
    assert model["rps_per_replica"] == pytest.approx(17.5)   # 70 % at 4 %/rps
    assert model["fanout"] == pytest.approx(1.0)
    assert model["replicas"] == {"needed": 6, "zone_lost": 9}  # 105 / 17.5 = 6; 9 - 3 = 6
    assert verdict.status == "pass" and verdict.details["knee"]["broke_users"] == 40
    too_few = capacity_for_target(steps, timeline, samples, ready, {"api": {"cpu_target_pct": 70, "max": 8}},
                                  OBJECTIVES, 105, 3, window)
    assert too_few.status == "fail" and "api needs 9 replicas with a zone lost, maxReplicas is 8" in too_few.reason


def test_too_few_steps_or_flat_cpu_is_inconclusive(tmp_path):
    steps, timeline, samples, ready = step_run(tmp_path, [5, 10, 15], [20, 20, 20], pods=2)
    window = Window.from_epoch(T0, T0 + 180)
    hpas = {"api": {"cpu_target_pct": 70, "max": 10}}
    assert capacity_for_target(steps[:2], timeline, samples, ready, hpas, OBJECTIVES, 50, 3, window).status == "inconclusive"
    flat = capacity_for_target(steps, timeline, samples, ready, hpas, OBJECTIVES, 50, 3, window)
    assert flat.status == "inconclusive" and "CPU does not grow with requests" in flat.reason
    steps, timeline, samples, ready = step_run(tmp_path, [5, 10, 15], [20, 40, 60], pods=2)
    one_zone = capacity_for_target(steps, timeline, samples, ready, hpas, OBJECTIVES, 50, 1, window)
    assert one_zone.status == "inconclusive" and "span one zone" in one_zone.reason


def test_a_deployment_this_load_never_calls_is_left_out_not_inconclusive(tmp_path):
    steps, timeline, samples, ready = step_run(tmp_path, [5, 10, 15, 20], [20, 40, 60, 80], pods=3)
    idle = samples.assign(deployment="worker", rps=0.0, cpu_cores=0.002)
    window = Window.from_epoch(T0, T0 + 240)
    hpas = {"api": {"cpu_target_pct": 70, "max": 10}, "worker": {"cpu_target_pct": 70, "max": 5}}
    ready = pd.concat([ready, ready.assign(name="worker")])
    verdict = capacity_for_target(steps, timeline, pd.concat([samples, idle]), ready, hpas, OBJECTIVES, 105, 3, window)
    assert verdict.status == "pass" and "worker" not in verdict.observed
    assert "answered no request of this load" in verdict.details["deployments"]["worker"]["unloaded"]
