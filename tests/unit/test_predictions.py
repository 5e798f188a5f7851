"""Predictions before the faults, from a namespace built here as the API serves it, and the
report's table setting each beside what its verdict observed (core/predictions.py)."""

from core.predictions import Fault, predict
from core.weak_spots import Namespace
from reports.build import predictions_table

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
    assert (after_drain["predicted"], after_drain["observed"], after_drain["agrees"]) == (1, 2, False)
    assert rows["drain_completed[w1]"]["observed"] == "not judged" and rows["drain_completed[w1]"]["agrees"] is None
