"""Failover and PDB verdicts over readiness samples and Locust's timeline built by hand."""

import pandas as pd

from core.verdict import Window
from probes.failover import failed_requests, failover_recovered, longest_outage_s, pdb_respected, slowest_request

T0 = 1_800_000_000


def readiness(kind, name, samples, limit_column, limit):
    """samples: [(seconds after T0, ready)]"""
    rows = [{"t": T0 + s, "kind": kind, "name": name, "ready": r, limit_column: limit} for s, r in samples]
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame.t, unit="s", utc=True)
    return frame


WINDOW = Window.from_epoch(T0, T0 + 300)
FAULT = pd.Timestamp(T0 + 10, unit="s", tz="UTC")


def test_recovery_time_is_from_the_fault_to_the_first_sample_back_at_desired():
    frame = readiness("deployment", "api", [(0, 3), (10, 3), (11, 2), (12, 1), (30, 2), (41.5, 3), (50, 3)],
                      "desired", 3)
    v = failover_recovered(frame, "api", FAULT, WINDOW, within_s=60)
    assert v.status == "pass" and v.details["recovery_s"] == 31.5 and v.details["lowest_ready"] == 1
    assert v.details["ready_lost"] == 2   # 3 ready when it struck (the sample before it), 1 at the lowest


def test_ready_lost_counts_from_what_the_fault_found_not_from_the_minimum():
    """Scaled to 5 under load before the fault, 4 at the lowest: one pod lost, not two below 3."""
    frame = readiness("deployment", "api", [(0, 3), (5, 5), (11, 4), (20, 5)], "desired", 5)
    v = failover_recovered(frame, "api", FAULT, WINDOW, within_s=60)
    assert (v.details["lowest_ready"], v.details["ready_lost"]) == (4, 1)


def test_slow_or_missing_recovery_fails():
    frame = readiness("deployment", "api", [(10, 3), (11, 2), (41.5, 3)], "desired", 3)
    assert failover_recovered(frame, "api", FAULT, WINDOW, within_s=20).status == "fail"
    stuck = readiness("deployment", "api", [(10, 3), (11, 2), (200, 2)], "desired", 3)
    v = failover_recovered(stuck, "api", FAULT, WINDOW, within_s=60)
    assert v.status == "fail" and "not recovered after 190 s" in v.observed


def test_no_sample_after_the_fault_is_inconclusive():
    frame = readiness("deployment", "api", [(0, 3), (5, 3)], "desired", 3)
    assert failover_recovered(frame, "api", FAULT, WINDOW, within_s=60).status == "inconclusive"


def test_pdb_dip_for_one_sample_fails_and_is_located():
    frame = readiness("pdb", "api", [(0, 3), (1, 2), (2, 1), (3, 2)], "min_available", 2)
    v = pdb_respected(frame, "api", WINDOW)
    assert v.status == "fail" and "1 sample(s) below" in v.observed
    held = readiness("pdb", "api", [(0, 3), (1, 2), (3, 3)], "min_available", 2)
    assert pdb_respected(held, "api", WINDOW).status == "pass"
    assert pdb_respected(held, "other", WINDOW).status == "inconclusive"


def test_longest_outage_counts_failed_and_silent_seconds():
    timeline = pd.DataFrame([
        {"t": T0 + 1, "requests": 10, "failures": 0},
        {"t": T0 + 2, "requests": 5, "failures": 5},   # all failed
        # T0 + 3, T0 + 4: nothing completed (hanging requests)
        {"t": T0 + 5, "requests": 4, "failures": 4},
        {"t": T0 + 6, "requests": 10, "failures": 1},
        {"t": T0 + 7, "requests": 3, "failures": 3},
    ])
    assert longest_outage_s(timeline, WINDOW) == (4, float(T0 + 2))
    assert longest_outage_s(timeline.iloc[:1], WINDOW) == (0, None)


def test_failed_requests_counts_only_endpoints_not_allowed_to_fail():
    timeline = pd.DataFrame([
        {"t": T0 + 1, "name": "/api/items", "requests": 10, "failures": 0},
        {"t": T0 + 1, "name": "/api/plan", "requests": 4, "failures": 4},
        {"t": T0 + 2, "name": "/api/items", "requests": 10, "failures": 1},
    ])
    strict = failed_requests(timeline, WINDOW)
    assert strict.status == "fail" and strict.observed == "5 of 24" and "/api/plan 4" in strict.reason
    degraded = failed_requests(timeline, WINDOW, max_failures=1, allowed=("/api/plan",))
    assert degraded.status == "pass" and degraded.observed == "1 of 20; on /api/plan: 4 (allowed)"
    assert failed_requests(timeline.iloc[:0], WINDOW).status == "inconclusive"


def test_slowest_request_is_judged_on_its_endpoint_alone_and_names_how_many_were_slower():
    """rt_ms: Locust's response times (rounded ms -> count) of each second and endpoint."""
    timeline = pd.DataFrame([
        {"t": T0 + 1, "name": "/api/plan", "requests": 3, "failures": 0, "rt_ms": {1600.0: 2, 2000.0: 1}},
        {"t": T0 + 2, "name": "/api/plan", "requests": 2, "failures": 2, "rt_ms": {2100.0: 1, 2900.0: 1}},
        {"t": T0 + 2, "name": "/api/items", "requests": 50, "failures": 0, "rt_ms": {9000.0: 1, 20.0: 49}},
    ])
    bounded = slowest_request(timeline.iloc[:1], WINDOW, "/api/plan", 2.5)
    assert bounded.status == "pass" and bounded.details["slowest_s"] == 2.0 and bounded.subject == "/api/plan"
    waited = slowest_request(timeline, WINDOW, "/api/plan", 2.5)
    assert waited.status == "fail" and waited.evidence["slower"] == 1 and waited.details["slowest_s"] == 2.9
    assert "1 request(s) took longer than 2.5 s" in waited.reason and "of 5" in waited.observed
    unseen = slowest_request(timeline, WINDOW, "/api/report", 2.5)
    assert unseen.status == "inconclusive" and "no /api/report request" in unseen.reason
