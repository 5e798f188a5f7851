"""hpa_scaled_out / hpa_scaled_in over desired-replica samples built by hand (one per second, as
the readiness sampler writes them)."""

import pandas as pd

from core.verdict import Window
from probes.hpa import at_rest, hpa_scaled_in, hpa_scaled_out

T0 = 1_800_000_000
WINDOW = Window.from_epoch(T0, T0 + 1200)
CROSSED = pd.Timestamp(T0 + 40, unit="s", tz="UTC")


def desired(*steps, until=1200):
    """steps: (second, replicas) where the desired count changes; a sample every second."""
    rows, value, changes = [], None, dict(steps)
    for s in range(until):
        value = changes.get(s, value)
        rows.append({"t": T0 + s, "kind": "deployment", "name": "api", "ready": value, "desired": value})
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame.t, unit="s", utc=True)
    return frame


def test_scale_out_reports_reaction_and_time_to_reach():
    verdict = hpa_scaled_out(desired((0, 3), (115, 4), (175, 6)), "api", CROSSED, 5, 240, WINDOW)
    assert verdict.status == "pass"
    assert verdict.details["reaction_s"] == 75 and verdict.details["reached_s"] == 135 and verdict.details["peak"] == 6


def test_too_slow_or_too_small_a_scale_out_fails():
    assert hpa_scaled_out(desired((0, 3), (115, 4), (400, 6)), "api", CROSSED, 5, 240, WINDOW).status == "fail"
    stuck = hpa_scaled_out(desired((0, 3)), "api", CROSSED, 5, 240, WINDOW)
    assert stuck.status == "fail" and stuck.observed == "stayed at 3 replicas"


def test_a_one_step_scale_out_seen_before_its_crossing_is_its_reaction():
    """podinfo: 2 → 4 (its maximum) in the HPA sync that recorded the crossing, sampled 4 s before
    Prometheus scraped that record; judged 'stayed at 4' before."""
    verdict = hpa_scaled_out(desired((0, 2), (36, 4)), "api", CROSSED, 4, 240, WINDOW)
    assert verdict.status == "pass" and verdict.observed.startswith("2 → 4 in 0 s"), verdict
    # a scale-out well before the crossing was not caused by it: the HPA stayed where that left it
    early = hpa_scaled_out(desired((0, 2), (20, 4)), "api", CROSSED, 5, 240, WINDOW)
    assert early.status == "fail" and early.observed == "stayed at 4 replicas"


def test_no_crossing_means_nothing_to_judge():
    assert hpa_scaled_out(desired((0, 3)), "api", None, 5, 240, WINDOW).status == "inconclusive"


def test_scale_in_after_the_stabilization_window_passes():
    verdict = hpa_scaled_in(desired((0, 3), (175, 6), (480, 5), (540, 4), (600, 3)), "api", 3, 300, WINDOW)
    assert verdict.status == "pass" and verdict.details["first_scale_in_s"] == 305 and verdict.details["reached_min"]


def test_scale_in_inside_the_stabilization_window_fails():
    verdict = hpa_scaled_in(desired((0, 3), (175, 6), (300, 5)), "api", 3, 300, WINDOW)
    assert verdict.status == "fail" and "inside the stabilization window" in verdict.reason


def test_no_scale_in_fails_unless_the_run_ended_inside_the_window():
    assert hpa_scaled_in(desired((0, 3), (175, 6)), "api", 3, 300, WINDOW).status == "fail"
    short = hpa_scaled_in(desired((0, 3), (175, 6), until=400), "api", 3, 300, WINDOW)
    assert short.status == "inconclusive"
    assert hpa_scaled_in(desired((0, 3)), "api", 3, 300, WINDOW).status == "inconclusive"


def served_hpa(current, desired, able="ReadyForNewScale", limited="DesiredWithinRange", cpu=6):
    """An HPA of min 2 on CPU (70 %) and memory, as the API serves it (the seed's mca after a deploy)."""
    resource = lambda name, value: {"type": "Resource", "resource": {"name": name, "current": {"averageUtilization": value}}}
    return {"spec": {"minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 70}}},
                                 {"type": "Resource", "resource": {"name": "memory", "target": {"averageUtilization": 80}}}]},
            "status": {"currentReplicas": current, "desiredReplicas": desired,
                       "currentMetrics": [resource("cpu", cpu), resource("memory", 58)],
                       "conditions": [{"type": "AbleToScale", "reason": able}, {"type": "ScalingLimited", "reason": limited}]}}


def test_an_hpa_held_above_its_minimum_by_memory_alone_is_at_rest():
    assert at_rest(served_hpa(2, 2, able="SucceededRescale")) == ""       # at its minimum
    assert at_rest(served_hpa(3, 3)) == ""                                # memory 58 % keeps 3: ceil(3 × 58 / 80)
    assert at_rest(served_hpa(5, 5, able="ScaleDownStabilized")) == "5 (min 2, ScaleDownStabilized)"
    assert at_rest(served_hpa(5, 4, able="SucceededRescale")) == "5 (min 2, SucceededRescale)"
    assert at_rest(served_hpa(5, 5, limited="ScaleDownLimit")) == "5 (min 2, ScaleDownLimit)"
    # the load just stopped, the HPA has not seen it yet
    assert at_rest(served_hpa(5, 5, cpu=85)) == "5 (min 2, CPU 85 % of target 70 %)"
    # on memory alone, above its minimum and nothing pending: at rest; CPU unknown where it is the target: not
    memory_only = served_hpa(3, 3)
    memory_only["spec"]["metrics"] = memory_only["spec"]["metrics"][1:]
    assert at_rest(memory_only) == ""
    unmeasured = served_hpa(3, 3)
    unmeasured["status"]["currentMetrics"] = []
    assert at_rest(unmeasured) == "3 (min 2, CPU ? % of target 70 %)"
