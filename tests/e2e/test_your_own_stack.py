"""README's "Test your own stack", as a new user does it on a stack this project did not write
(podinfo, deployed for these tests as `make deploy-podinfo` does, deleted after): the wheel
installed into a clean virtualenv, then, from a folder of the user's own, `gameday init`, `gameday
check` and the dry runs of the bundled pod-kill, drain and hpa-scale-out game days, with no change
to the suite. Their real runs are in `make gameday` (tests/gameday/test_your_own_stack.py)."""

import pytest
import yaml

from tests.installed import PODINFO, as_new_user, podinfo_user
from tests.kube import CONTEXT


user = pytest.fixture(scope="module")(podinfo_user)


def test_the_installed_suite_lists_its_bundled_game_days(user):
    gameday, home, _ = user
    out = as_new_user(gameday, home, "list")
    assert out.returncode == 0, out.stderr
    assert "site-packages/gameday/bundled/experiments" in out.stdout and "* pod-kill-under-load" in out.stdout
    assert "steady" in out.stdout.split("load profiles")[1]


def test_init_finds_podinfos_entry_and_roles_and_says_what_to_confirm(user):
    _, home, said = user
    stack = yaml.safe_load((home / "stack.yaml").read_text())
    assert stack["urls"]["entry"] == "http://127.0.0.1:30100"
    assert stack["roles"] == {"entry": "podinfo", "scaled": "podinfo", "budgeted": "podinfo"}
    assert (stack["namespace"], stack["kube_context"], stack["deployments"]) == (PODINFO, CONTEXT, ["podinfo"])
    assert 'guessed: slo.server_selector: Prometheus has http_requests_total{namespace="podinfo"}' in said
    assert "CONFIRM: slo.objectives" in said and "CONFIRM: urls.entry: node port 30100" in said
    # the seed's HPAScalingEvent watches every namespace's HPAs: a scale-out of podinfo should fire it too
    assert stack["alerts"] == {"scaling": ["HPAScalingEvent"]}
    assert "guessed: alerts.scaling: HPAScalingEvent select HPA metrics of this namespace or of every" in said
    assert as_new_user(user[0], home, "init", PODINFO, "--context", CONTEXT).returncode == 3  # never over a file


def test_the_stack_file_takes_the_users_own_locustfile(user):
    gameday, home, _ = user
    out = as_new_user(gameday, home, "run", "pod-kill-under-load", "--dry-run")
    assert out.returncode == 0, out.stderr   # the stack file, its locustfile named, loads


def test_check_names_podinfos_weak_spots(user):
    gameday, home, _ = user
    out = as_new_user(gameday, home, "check")
    assert out.returncode == 1, out.stdout + out.stderr
    # podinfo's manifests keep nothing from putting both replicas on one node
    assert any(line.split()[:2] == ["replicas_may_share_a_node", "Deployment/podinfo"] for line in out.stdout.splitlines())
    assert "single_replica" not in out.stdout and "hpa_without_cpu_requests" not in out.stdout


@pytest.mark.parametrize("experiment, expected", [
    ("pod-kill-under-load", "in podinfo, picked at random: podinfo-"),
    ("hpa-scale-out", "wait_for_replicas(deployment='podinfo', ns='podinfo', at_least=4"),
])
def test_the_bundled_game_days_aim_at_podinfo_by_role(user, experiment, expected):
    gameday, home, _ = user
    out = as_new_user(gameday, home, "run", experiment, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert expected in out.stdout and "core-api" not in out.stdout


def test_a_scale_out_without_a_capacity_model_says_why_it_predicts_no_peak(user):
    gameday, home, _ = user
    out = as_new_user(gameday, home, "run", "hpa-scale-out", "--dry-run")
    assert "hpa_scaled_out[podinfo]: replicas the HPA reaches not predicted (no step-load run of stack" in out.stdout


def test_a_drain_is_refused_until_the_namespaces_it_would_hit_are_allowed(user):
    """Every worker also runs the seed stack's pods: draining one for podinfo's game day evicts
    them too, which the guard allows only by name."""
    gameday, home, _ = user
    refused = as_new_user(gameday, home, "run", "node-drain-respects-pdb", "--dry-run")
    assert "REFUSED" in refused.stdout and "outside the namespaces this game day may touch" in refused.stdout
    allowed = as_new_user(gameday, home, "run", "node-drain-respects-pdb", "--dry-run", "--allow-namespace", "gameday")
    assert allowed.returncode == 0 and "REFUSED" not in allowed.stdout, allowed.stdout
    assert "PodDisruptionBudgets in podinfo now: podinfo allows 1" in allowed.stdout
    assert "drain_completed[gameday-worker" in allowed.stdout   # predicted from both namespaces
