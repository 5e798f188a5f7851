"""The scaled copy's shapes and the zone-loss verdicts, over data constructed here (the cluster
test, tests/e2e/test_simulated.py, runs them on simulated nodes)."""

import pytest

from actions.scaled_copy import copied_budget, copied_deployment, scaled_copy
from core.simulated import SIMULATED_LABEL
from probes.zone_loss import (_quantity, _Watch, capacity_margin, none_pending_for_capacity, why_pending, zone_loss_budgets_held,
                              zone_loss_rescheduled, zone_spread_held)

SOURCE = {
    "metadata": {"name": "core-api"},
    "spec": {"replicas": 3, "template": {
        "metadata": {"labels": {"app": "core-api", "tier": "core"}},
        "spec": {"serviceAccountName": "core", "volumes": [{"name": "v", "emptyDir": {}}],
                 "containers": [{"name": "core-api", "image": "kube-gameday/service:1", "env": [{"name": "A", "value": "1"}],
                                 "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}}],
                 "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                     {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                         "labelSelector": {"matchLabels": {"app": "core-api"}}}}]}},
                 "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                                "whenUnsatisfiable": "ScheduleAnyway",
                                                "labelSelector": {"matchLabels": {"app": "core-api"}}}]}}}}
BUDGET = {"metadata": {"name": "core-api"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "core-api"}}}}
OTHER_BUDGET = {"metadata": {"name": "agents"}, "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"tier": "agents"}}}}
SECOND_BUDGET = {"metadata": {"name": "core"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"tier": "core"}}}}


def test_a_copy_runs_on_simulated_nodes_with_its_own_selectors_and_nothing_of_the_source_namespace():
    copy = copied_deployment(SOURCE, 3, 50, None)
    pod = copy["spec"]["template"]["spec"]
    assert copy["metadata"]["name"] == "core-api-x03" and copy["spec"]["replicas"] == 50
    assert pod["nodeSelector"] == {SIMULATED_LABEL: "fake"}
    assert pod["tolerations"][0]["key"] == SIMULATED_LABEL
    assert pod["topologySpreadConstraints"][0]["labelSelector"] == {"matchLabels": {"app": "core-api-x03"}}
    term = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["labelSelector"] == {"matchLabels": {"app": "core-api-x03"}}
    assert pod["containers"] == [{"name": "core-api", "image": "kube-gameday/service:1",
                                  "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}}]
    assert "serviceAccountName" not in pod and "volumes" not in pod
    assert SOURCE["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] == {"app": "core-api"}


def test_requests_named_replace_the_sources_and_its_limits():
    pod = copied_deployment(SOURCE, 0, 50, {"cpu": "1200m", "memory": "2Gi"})["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "1200m", "memory": "2Gi"}}


@pytest.mark.parametrize("source, replicas, copied", [
    ({"minAvailable": 2}, 3, {"minAvailable": "66%"}),     # rounded down: never stricter than the source
    ({"maxUnavailable": 1}, 4, {"maxUnavailable": "25%"}),
    ({"minAvailable": "50%"}, 3, {"minAvailable": "50%"})])
def test_a_budget_keeps_its_fraction_of_the_replicas(source, replicas, copied):
    deployment = copied_deployment(SOURCE, 0, 50, None)
    budget = copied_budget({"metadata": {"name": "b"}, "spec": source}, deployment, replicas)
    assert {k: v for k, v in budget["spec"].items() if k != "selector"} == copied
    assert budget["spec"]["selector"] == {"matchLabels": {"app": "core-api-x00"}}


def test_pods_under_two_budgets_stay_under_two_in_the_copy():
    objects = scaled_copy([SOURCE], [BUDGET, SECOND_BUDGET], copies=1, replicas=10)
    assert [o["metadata"]["name"] for o in objects] == ["core-api-x00", "core-api-x00-core-api", "core-api-x00-core"]


def test_only_the_budgets_selecting_a_deployments_pods_are_copied_with_it():
    objects = scaled_copy([SOURCE], [BUDGET, OTHER_BUDGET], copies=2, replicas=10)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Deployment", "core-api-x00"), ("PodDisruptionBudget", "core-api-x00-core-api"),
        ("Deployment", "core-api-x01"), ("PodDisruptionBudget", "core-api-x01-core-api")]


@pytest.mark.parametrize("message, kind", [
    ("0/303 nodes are available: 3 node(s) had untolerated taint, 200 Insufficient cpu.", "capacity"),
    ("0/303 nodes are available: 100 Too many pods.", "capacity"),
    ("0/303 nodes are available: 200 node(s) didn't match pod topology spread constraints.", "spread"),
    ("0/303 nodes are available: persistentvolumeclaim not found.", "other")])
def test_why_a_pod_is_pending(message, kind):
    assert why_pending(message) == kind


def test_quantities():
    assert _quantity("7910m") == pytest.approx(7.91)
    assert _quantity("29Gi") == 29 * 2**30
    assert _quantity("110") == 110


def evidence(**changes) -> dict:
    ev = {"zone": "zone-a", "namespace": "gameday-scaled", "watched_from": 1_800_000_000.0, "watched_s": 90.0,
          "timeout_s": 600, "pods_on_lost_nodes": 334, "first_evicted_s": 52.0, "all_evicted_s": 56.0,
          "recovered_s": 74.0, "pending": {},
          "budgets": {"core-api-x00": {"lowest": 0, "at_s": 60.0, "healthy": 33, "desired": 33}},
          "spread": {"core-api-x00": {"zones": {"zone-b": 25, "zone-c": 25}, "max_skew": 1}},
          "capacity": {"cpu": {"allocatable": 1582.0, "requested": 1200.0},
                       "memory": {"allocatable": 200 * 29 * 2**30, "requested": 1000 * 2 * 2**30},
                       "pods": {"allocatable": 22000, "requested": 1000}, "nodes": 200},
          "samples": [[0.0, 1000, 1000, 0, 0], [60.0, 666, 1000, 0, 334], [74.0, 1000, 1000, 0, 334]]}
    return {**ev, **changes}


def test_a_zone_loss_absorbed_passes_every_verdict():
    ev = evidence()
    verdicts = [zone_loss_rescheduled(ev, 180), none_pending_for_capacity(ev), zone_spread_held(ev),
                zone_loss_budgets_held(ev), capacity_margin(ev, 0.1)]
    assert [v.status for v in verdicts] == ["pass"] * 5, [v.observed for v in verdicts]
    assert verdicts[0].details == {"recovery_s": 18.0, "eviction_s": 56.0}
    assert verdicts[4].details["margin"] == pytest.approx(1 - 1200 / 1582, abs=1e-4)


def test_an_undersized_cluster_fails_on_room():
    message = "0/203 nodes are available: 100 Insufficient cpu."
    ev = evidence(recovered_s=None, watched_s=240.0, pending={"capacity": {"most": 212, "examples": [message]}},
                  samples=[[0.0, 1000, 1000, 0, 0], [240.0, 788, 1000, 212, 334]],
                  capacity={"cpu": {"allocatable": 791.0, "requested": 790.0}, "memory": {"allocatable": 1.0, "requested": 0.5},
                            "pods": {"allocatable": 11000, "requested": 788}, "nodes": 100})
    rescheduled, pending, margin = zone_loss_rescheduled(ev, 180), none_pending_for_capacity(ev), capacity_margin(ev, 0.1)
    assert (rescheduled.status, pending.status, margin.status) == ("fail", "fail", "fail")
    assert "788 of 1000 available, 212 Pending" in rescheduled.observed
    assert pending.reason == message and "cpu is the tightest" in margin.reason


def test_a_watch_ended_before_the_copy_had_its_time_is_inconclusive_not_a_fail():
    ev = evidence(recovered_s=None, watched_s=120.0, samples=[[0.0, 1000, 1000, 0, 0], [120.0, 900, 1000, 100, 334]])
    verdict = zone_loss_rescheduled(ev, 180)
    assert verdict.status == "inconclusive" and "ended 64 s after the last eviction" in verdict.reason, verdict
    assert zone_loss_rescheduled(ev, 60).status == "fail"


def test_a_copy_stuck_for_want_of_room_fails_before_within_s_ran_out():
    ev = evidence(recovered_s=None, watched_s=120.0, stuck_s=60.0,
                  samples=[[0.0, 1000, 1000, 0, 0], [60.0, 900, 1000, 100, 334], [120.0, 900, 1000, 100, 334]])
    verdict = zone_loss_rescheduled(ev, 180)
    assert verdict.status == "fail" and "unchanged for 60 s after the last eviction" in verdict.reason, verdict


def watched(samples: list[list], all_evicted_s: float | None, only_room_short: bool = True) -> _Watch:
    watch = _Watch(0.0)
    watch.samples, watch.all_evicted_s, watch.only_room_short = samples, all_evicted_s, only_room_short
    return watch


def test_the_watch_ends_stuck_only_after_the_evictions_with_room_short_and_nothing_changing():
    still = [[56.0, 900, 1000, 100, 334], [90.0, 900, 1000, 100, 334], [116.0, 900, 1000, 100, 334]]
    assert watched(still, 56.0).stuck_for(60)
    assert not watched(still, 56.0).stuck_for(61)
    assert not watched(still, None).stuck_for(30), "pods still to evict: more may come"
    assert not watched(still, 56.0, only_room_short=False).stuck_for(30), "Pending on a spread: not a want of room"
    placing = [[56.0, 880, 1000, 120, 334], [90.0, 900, 1000, 100, 334], [116.0, 900, 1000, 100, 334]]
    assert watched(placing, 56.0).stuck_for(26) and not watched(placing, 56.0).stuck_for(27)
    before = [[10.0, 900, 1000, 100, 300], [56.0, 900, 1000, 100, 334], [80.0, 900, 1000, 100, 334]]
    assert not watched(before, 56.0).stuck_for(30), "counted from the last eviction, not before it"


def test_a_late_recovery_fails():
    assert zone_loss_rescheduled(evidence(recovered_s=56.0 + 181), 180).status == "fail"


def test_a_zone_not_wholly_evicted_fails_and_says_why():
    verdict = zone_loss_rescheduled(evidence(all_evicted_s=None, recovered_s=None,
                                             samples=[[0.0, 1000, 1000, 0, 0], [600.0, 700, 1000, 0, 40]]), 180)
    assert verdict.status == "fail" and "40 of the 334 pods on the lost nodes evicted after 600 s" in verdict.observed
    assert "--node-eviction-rate" in verdict.reason


def test_a_skewed_spread_and_a_budget_below_its_floor_fail():
    ev = evidence(spread={"core-api-x00": {"zones": {"zone-b": 40, "zone-c": 10}, "max_skew": 1}},
                  budgets={"core-api-x00": {"lowest": -1, "at_s": 55.0, "healthy": 32, "desired": 33}})
    spread, budgets = zone_spread_held(ev), zone_loss_budgets_held(ev)
    assert spread.status == "fail" and "zone-b" in spread.reason
    assert budgets.status == "fail" and "32 healthy < 33" in budgets.reason


def test_pods_pending_on_a_spread_constraint_fail_the_spread():
    ev = evidence(pending={"spread": {"most": 17, "examples": ["didn't match pod topology spread constraints"]}})
    assert zone_spread_held(ev).status == "fail"


def test_nothing_on_the_lost_zone_is_inconclusive_never_a_pass():
    ev = evidence(pods_on_lost_nodes=0)
    for verdict in (zone_loss_rescheduled(ev, 180), none_pending_for_capacity(ev), zone_spread_held(ev),
                    zone_loss_budgets_held(ev)):
        assert verdict.status == "inconclusive", verdict
    assert capacity_margin(evidence(capacity={"nodes": 0}), 0.1).status == "inconclusive"


def test_the_report_says_the_nodes_were_simulated_and_charts_the_copy_through_the_loss(tmp_path):
    import json
    from reports.build import build_report
    from tests.unit.test_report import write_run
    write_run(tmp_path)
    record = json.loads((tmp_path / "verdicts.json").read_text())
    verdict = zone_loss_rescheduled(evidence(watched_from=1_800_000_030.0), 180).to_dict()
    record["verdicts"].append(verdict)
    (tmp_path / "verdicts.json").write_text(json.dumps(record))
    text = build_report(tmp_path).read_text()
    assert "Simulated nodes:</strong> judged on simulated nodes (KWOK): their pods run nothing" in text
    assert "Scaled copy through the zone loss (gameday-scaled, simulated nodes)" in text
    assert "zone_loss_rescheduled[gameday-scaled]" in text


def test_a_report_without_simulated_verdicts_says_nothing_of_them(tmp_path):
    from reports.build import build_report
    from tests.unit.test_report import write_run
    write_run(tmp_path)
    assert "Simulated nodes" not in build_report(tmp_path).read_text()
