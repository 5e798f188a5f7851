"""The stack's objects by role, read from the objects as the API serves them: what an experiment's
${entry_selector}, ${scaled_out_to}, ... become on a stack (core/roles.py)."""

from pathlib import Path

import pytest
import yaml

from core.roles import RoleError, alert_values, role_values
from core.weak_spots import Namespace
from gameday.experiment import asked_checks, roles_used

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def deployment(name, labels):
    return {"kind": "Deployment", "metadata": {"name": name}, "spec": {"selector": {"matchLabels": labels}}}


def hpa(name, target, low, high):
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": low, "maxReplicas": high}}


def pdb(name, selector):
    return {"kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": {"selector": selector}}


SHOP = Namespace(workloads=[deployment("web", {"app": "web", "tier": "front"})], pods=[],
                 pdbs=[pdb("web", {"matchLabels": {"app": "web"}})], hpas=[hpa("web-hpa", "web", 2, 4)])


def test_each_role_reads_its_object():
    assert role_values({"entry": "web", "scaled": "web-hpa", "budgeted": "web"}, SHOP) == {
        "entry_deployment": "web", "entry_selector": "app=web,tier=front",
        "scaled_hpa": "web-hpa", "scaled_deployment": "web", "scaled_selector": "app=web,tier=front",
        "scaled_min": 2, "scaled_max": 4, "scaled_out_to": 4,
        "budgeted_pdb": "web", "budgeted_selector": "app=web"}


def test_the_scale_out_is_two_over_the_minimum_capped_at_the_maximum():
    def scaled_out_to(low, high):
        return role_values({"scaled": "h"}, Namespace(SHOP.workloads, [], [], [hpa("h", "web", low, high)]))["scaled_out_to"]
    assert (scaled_out_to(3, 20), scaled_out_to(1, 2)) == (5, 2)
    # max = min: one over it all the same, so the game day fails on it instead of passing at rest
    assert scaled_out_to(3, 3) == 4


@pytest.mark.parametrize("roles, namespace, message", [
    ({"entry": "api"}, SHOP, "roles.entry: no Deployment 'api'"),
    ({"scaled": "web"}, SHOP, "roles.scaled: no HorizontalPodAutoscaler 'web'"),
    ({"scaled": "h"}, Namespace(SHOP.workloads, [], [], [hpa("h", "api", 1, 3)]),
     "roles.scaled (HorizontalPodAutoscaler h's target): no Deployment 'api'"),
    ({"budgeted": "p"}, Namespace([], [], [pdb("p", {"matchExpressions": [{"key": "app", "operator": "Exists"}]})], []),
     "not plain matchLabels"),
    ({"budgeted": "p"}, Namespace([], [], [pdb("p", None)], []), "not plain matchLabels"),
])
def test_a_role_a_game_day_cannot_act_on_is_named(roles, namespace, message):
    with pytest.raises(RoleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        role_values(roles, namespace)


def test_the_portable_experiments_say_which_roles_they_need():
    def used(name):
        return roles_used(yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text()))
    assert used("pod-kill-under-load") == {"entry": ["entry_deployment", "entry_selector"]}
    assert used("node-drain-respects-pdb") == {"entry": ["entry_deployment"], "budgeted": ["budgeted_selector"]}
    assert set(used("hpa-scale-out")) == {"entry", "scaled"}
    assert set(used("cpu-pressure-core-api")) == {"entry", "scaled"}
    assert used("capacity-step-load") == {"entry": ["entry_deployment"]}


def scale_out_alerts(handed):
    """The alert_can_fire verdicts hpa-scale-out asks for, given what the runner hands it."""
    experiment = yaml.safe_load((EXPERIMENTS / "hpa-scale-out.yaml").read_text())
    return [a.spec.alert for a in asked_checks(experiment, "hpa-scale-out.yaml", handed)
            if a.check.name == "alert_can_fire"]


def test_a_scale_out_judges_the_stacks_scaling_alerts_and_none_it_does_not_name():
    assert alert_values({"scaling": ("HPAMaxedOut", "ReplicasChanged")}) == {
        "scaling_alerts": ["HPAMaxedOut", "ReplicasChanged"]}
    assert scale_out_alerts(alert_values({"scaling": ("HPAMaxedOut", "ReplicasChanged")})) == [
        "HPAMaxedOut", "ReplicasChanged"]
    # a stack without alerts.scaling is not judged on the seed's rule (the plain chaos run default)
    assert scale_out_alerts(alert_values({})) == []
    assert scale_out_alerts({}) == ["HPAScalingEvent"]
