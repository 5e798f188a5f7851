"""Predictions before the faults, from a namespace built here as the API serves it, and the
report's table setting each beside what its verdict observed (core/predictions.py)."""

import json

import pytest

from core.predictions import (DEFAULT_SCALE_UP, Fault, Surge, alert_fires_by, hpa_peak, hpa_reaches, predict,
                              shown_prediction)
from core.weak_spots import Namespace
from edge.stack import load_stack
from gameday.predictions import capacity_model, surge_of
from reports.build import predictions_table
from tests.recorded import recorded_run

WEB = {"app": "web"}


def pod(name, node, labels=WEB, ready=True):
    return {"kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": {"nodeName": node},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pdb(name, labels, min_available):
    return {"kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels}, "minAvailable": min_available}}


WEB_DEPLOYMENT = {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": WEB}}}
# three web pods, two on w1; one of them not ready yet
SHOP = Namespace([WEB_DEPLOYMENT], [pod("web-a", "w1"), pod("web-b", "w1"), pod("web-c", "w2"), pod("web-d", "w3", ready=False)],
                 [pdb("web", WEB, 2)], [])


def test_a_pod_kill_leaves_the_ready_pods_less_those_killed():
    [p] = predict(SHOP, [Fault("kill", "kill_pods", {"label_selector": "app=web", "qty": 2})], ["web"], False)
    assert (p.verdict, p.predicted) == ("failover_recovered[web] after kill", 2)
    assert "2 of its 3 ready pods killed at once" in p.why


def test_a_drain_is_floored_by_the_budget_a_node_failure_is_not():
    drain, stop = Fault("drain", "drain_node", {"pods_label_selector": "app=web"}), \
        Fault("stop", "fail_nodes", {"pods_label_selector": "app=web"})
    [lowest_drain, completes, lowest_stop] = predict(SHOP, [drain, stop], ["web"], True)
    assert lowest_drain.predicted == 1 and "PDB web keeps 2" in lowest_drain.why   # 2 on w1, but the budget lets 1 go
    assert lowest_stop.predicted == 2 and "2 of its 3 ready pods on w1" in lowest_stop.why
    assert (completes.verdict, completes.predicted) == ("drain_completed[w1]", True)


def test_a_drain_is_predicted_blocked_by_two_budgets_or_one_that_allows_nothing():
    drain = Fault("drain", "drain_node", {"pods_label_selector": "app=web"})
    twice = Namespace([WEB_DEPLOYMENT], SHOP.pods, [pdb("web", WEB, 1), pdb("all", {}, 0)], [])
    [_, blocked] = predict(twice, [drain], ["web"], True)
    assert blocked.predicted is False and "under PDBs web, all" in blocked.why
    strict = Namespace([WEB_DEPLOYMENT], SHOP.pods, [pdb("web", WEB, 4)], [])
    assert "keeps 4 of its 4 pods" in predict(strict, [drain], [], True)[0].why


def test_a_fault_that_misses_the_deployment_predicts_nothing_for_it():
    assert predict(SHOP, [Fault("kill", "kill_pods", {"label_selector": "app=db"})], ["web"], False) == []


def test_the_report_sets_each_prediction_beside_its_verdict():
    predictions = [p.to_dict() for p in predict(SHOP, [Fault("kill", "kill_pods", {"label_selector": "app=web"}),
                                                        Fault("drain", "drain_node", {"pods_label_selector": "app=web"})],
                                                ["web"], True)]
    verdicts = [{"name": "failover_recovered[web] after kill", "status": "pass", "details": {"ready_lost": "1"}},
                {"name": "failover_recovered[web] after drain", "status": "pass", "details": {"ready_lost": 2}},
                {"name": "drain_completed[w1]", "status": "inconclusive", "details": {}}]
    rows = {r["verdict"]: r for r in predictions_table(predictions, verdicts)}
    assert rows["failover_recovered[web] after kill"]["agrees"] is True
    after_drain = rows["failover_recovered[web] after drain"]
    assert (after_drain["predicted"], after_drain["observed"], after_drain["agrees"]) == ("1", 2, False)
    assert rows["drain_completed[w1]"]["observed"] == "not judged" and rows["drain_completed[w1]"]["agrees"] is None


# the seed core API's HPA: 3 to 20, scale-up held 60 s and then by half at most a minute
SEED_SCALE_UP = {"stabilizationWindowSeconds": 60, "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}


def seed_hpa(behavior=None):
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "core-api"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "core-api"}, "minReplicas": 3,
                     "maxReplicas": 20, **({"behavior": {"scaleUp": behavior}} if behavior else {})}}


def test_an_hpa_climbs_as_fast_as_its_scale_up_policies_let_it():
    # defaults: the load seen 30 s late, then the faster of doubling and +4 pods each 15 s
    assert hpa_reaches(2, 10, DEFAULT_SCALE_UP, 240) == 10
    assert hpa_reaches(2, 10, DEFAULT_SCALE_UP, 30) == 6
    # the seed's: nothing for 30 + 60 s, then 3 → 5 (ceil 4.5), a minute later 8, then 9
    assert [hpa_reaches(3, 9, SEED_SCALE_UP, s) for s in (80, 90, 149, 150, 209, 210)] == [3, 5, 5, 8, 8, 9]
    assert hpa_reaches(3, 9, {**SEED_SCALE_UP, "selectPolicy": "Disabled"}, 600) == 3
    pods_or_percent = {"selectPolicy": "Min", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15},
                                                             {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert hpa_reaches(3, 9, pods_or_percent, 60) == 6    # the slower of the two: one pod a sync, from 30 s


@pytest.fixture(scope="module")
def seed_capacity(tmp_path_factory):
    """The capacity model the judge computed live on a real step-load run of the seed stack."""
    run = recorded_run("capacity-step-load", tmp_path_factory.mktemp("recorded"))
    return next(v for v in json.loads((run / "verdicts.json").read_text())["verdicts"]
                if v["name"].startswith("capacity_for_target"))["details"]


def test_the_seed_scale_out_peak_is_predicted_from_the_recorded_capacity_model(seed_capacity):
    # 40 users × 1.31 req/s (the steps that held) × 1.01 on core-api = 53 req/s; 6.3 per replica
    # at 70 % CPU: 9 wanted, reached within the 240 s surge; its ±2σ (5.8–6.9 per replica): 8–10
    peak, low, high, why = hpa_peak(seed_hpa(SEED_SCALE_UP), seed_capacity, Surge(40, 240))
    assert (peak, low, high) == (9, 8, 10), why
    assert "40 users × 1.31 req/s × 1.01 = 53 req/s on core-api, 6.3 req/s per replica" in why
    # a surge too short for the policies: the climb, not the load, bounds it
    assert hpa_peak(seed_hpa(SEED_SCALE_UP), seed_capacity, Surge(40, 100))[0] == 5
    # a light load: the minimum
    assert hpa_peak(seed_hpa(SEED_SCALE_UP), seed_capacity, Surge(5, 240))[0] == 3
    # a band reaching zero req/s per replica bounds nothing above: as high as the HPA may climb
    wide = {**seed_capacity, "deployments": {"core-api": {**seed_capacity["deployments"]["core-api"], "low": -1.0}}}
    assert hpa_peak(seed_hpa(), wide, Surge(40, 240))[:3] == (9, 8, 20)
    no_band = {**seed_capacity, "deployments": {"core-api": {**seed_capacity["deployments"]["core-api"], "low": None,
                                                             "high": None}}}
    assert hpa_peak(seed_hpa(), no_band, Surge(40, 240))[:3] == (9, 9, 9)


def test_no_capacity_model_no_peak_only_the_reason():
    [p] = predict(Namespace([], [], [], [seed_hpa()]), [], [], False, ["core-api"], (None, "no step-load run"),
                  Surge(40, 240))
    assert (p.verdict, p.predicted, p.why) == ("hpa_scaled_out[core-api]", None, "no step-load run")
    row = predictions_table([p.to_dict()], [{"name": "hpa_scaled_out[core-api]", "status": "pass",
                                             "details": {"peak": 6}}])[0]
    assert (row["predicted"], row["observed"], row["agrees"]) == ("not predicted", 6, None)


def test_a_predicted_range_agrees_with_any_count_inside_it(seed_capacity):
    [p] = predict(Namespace([], [], [], [seed_hpa(SEED_SCALE_UP)]), [], [], False, ["core-api"],
                  (seed_capacity, "the capacity model of 20261205T000000Z-capacity-step-load"), Surge(40, 240))
    assert p.why.endswith("; the capacity model of 20261205T000000Z-capacity-step-load")
    for observed, agrees in ((8, True), (10, True), (6, False)):
        verdict = {"name": "hpa_scaled_out[core-api]", "status": "fail", "details": {"peak": observed}}
        row = predictions_table([p.to_dict()], [verdict])[0]
        assert (row["predicted"], row["agrees"]) == ("9 (8–10)", agrees)


def test_the_latest_step_load_run_of_the_same_stack_is_the_model(tmp_path):
    stack = load_stack()   # the seed's: stack seed, namespace gameday

    def run(name, stack_name, details):
        (tmp_path / name).mkdir()
        (tmp_path / name / "verdicts.json").write_text(json.dumps({"target": {"stack": stack_name, "namespace": "gameday"},
            "verdicts": [{"check": "capacity_for_target", "name": "capacity_for_target[100 rps]", "status": "fail",
                          "details": details}]}))
    assert capacity_model(stack, tmp_path / "none")[0] is None
    run("20261201T000000Z-capacity-step-load", "seed", {"deployments": {"core-api": {}}, "old": True})
    run("20261202T000000Z-capacity-step-load", "seed", {"deployments": {"core-api": {}}})
    run("20261203T000000Z-capacity-step-load", "shop", {"deployments": {"web": {}}})
    run("20261204T000000Z-pod-kill", "seed", {})
    model, source = capacity_model(stack, tmp_path)
    assert model == {"deployments": {"core-api": {}}} and source.endswith("20261202T000000Z-capacity-step-load")


def test_an_alert_is_compared_with_its_budget_and_one_that_cannot_fire_with_never():
    timing = {"for_s": 60, "eval_s": 15, "scrape_s": 5}
    due, absent = alert_fires_by("Down", "kill", 30, timing), alert_fires_by("Gone", "kill", 0, None, "not loaded", False)
    assert (due.predicted, due.low, due.high, shown_prediction(due)) == (110, 0, 110, "≤ 110")
    assert (absent.predicted, shown_prediction(absent)) == (False, "never fires")

    def row(prediction, status, details):
        verdict = {"name": prediction.verdict, "status": status, "details": details}
        found = predictions_table([prediction.to_dict()], [verdict])[0]
        return found["observed"], found["agrees"]
    assert row(due, "pass", {"fire_after_s": 72.4, "bound_s": 110}) == (72, True)
    assert row(due, "fail", {"fire_after_s": 131.0, "bound_s": 110}) == (131, False)
    assert row(due, "fail", {"bound_s": 110}) == ("never fired", False)          # not 0 ≤ False ≤ 110
    assert row(absent, "fail", {"bound_s": 0}) == ("never fired", True)
    assert row(absent, "pass", {"fire_after_s": 3}) == (3, False)
    assert row(due, "inconclusive", {}) == ("not judged", None)


def test_a_drain_is_predicted_blocked_by_a_neighbours_pod_under_two_budgets():
    """podinfo's drain, seen on the kind cluster: the seed's mca pod on the same worker is under
    two of the seed's PDBs; read from podinfo's namespace alone the drain was predicted to complete."""
    def placed(obj, namespace):
        return {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    mine = Namespace([placed(WEB_DEPLOYMENT, "shop")], [placed(pod("web-a", "w1"), "shop")],
                     [placed(pdb("web", WEB, 0), "shop")], [])
    seed = Namespace([], [placed(pod("mca-0", "w1", {"app": "mca"}), "gameday")],
                     [placed(pdb("mca", {"app": "mca"}, 0), "gameday"), placed(pdb("agents", {"app": "mca"}, 0), "gameday"),
                      placed(pdb("web", WEB, 1), "gameday")], [])   # selects web pods, but of its own namespace only
    drain = Fault("drain", "drain_node", {"pods_label_selector": "app=web"})
    assert predict(mine, [drain], [], True)[0].predicted is True
    around = Namespace(*(getattr(mine, f) + getattr(seed, f) for f in ("workloads", "pods", "pdbs", "hpas")))
    [blocked] = predict(mine, [drain], [], True, around=around)
    assert blocked.predicted is False and "gameday/mca-0 on w1 is under PDBs mca, agents" in blocked.why


def test_the_surge_is_the_peak_of_the_profile_the_run_drives(tmp_path):
    experiment = {"controls": [{"provider": {"module": "gameday.controls", "arguments": {"profile": "scale-out"}}}]}
    assert surge_of(experiment, None) == Surge(40, 240)              # the bundled scale-out: 10, 40 for 4 min
    (tmp_path / "steps.yaml").write_text("shape: step\nusers: 10\nstep_users: 15\nsteps: 7\nstep_s: 90\n")
    assert surge_of(experiment, tmp_path / "steps.yaml") == Surge(100, 90)   # --load: its last step
    assert surge_of({"controls": []}, None) is None
