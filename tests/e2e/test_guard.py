"""The guard on the real cluster: a kube context that reaches the very same cluster but is not in
the allowlist is refused before any API write, with the way to allow it; allowed for one run,
a dry run resolves its targets against the cluster and still changes nothing."""

import os
import subprocess
import sys

import pytest
import yaml

from core.verdict import EXIT
from tests.integration.local import REPO
from tests.kube import CONTEXT, kubectl

pytestmark = pytest.mark.cluster  # every test here needs the kind cluster

ALIAS = f"{CONTEXT}-alias"


@pytest.fixture
def aliased(tmp_path):
    """A kubeconfig whose context ALIAS reaches the test cluster, and a stack file naming it."""
    kubeconfig = yaml.safe_load(kubectl("config", "view", "--raw", "--minify", "--context", CONTEXT))
    kubeconfig["contexts"][0]["name"] = kubeconfig["current-context"] = ALIAS
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    stack = yaml.safe_load((REPO / "stack.yaml").read_text())
    stack["kube_context"] = ALIAS
    (tmp_path / "stack.yaml").write_text(yaml.safe_dump(stack))
    return tmp_path


def gameday(config_dir, *args):
    env = {**os.environ, "KUBECONFIG": str(config_dir / "kubeconfig")}
    return subprocess.run([sys.executable, "-m", "gameday.cli", "run", *args, "--stack", str(config_dir / "stack.yaml")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def pods_and_nodes() -> str:
    """Every pod of the stack by uid and restarts, and every node's schedulability."""
    return (kubectl("get", "pods", "-n", "gameday", "-o",
                    "jsonpath={range .items[*]}{.metadata.uid} {.status.containerStatuses[0].restartCount}{'\\n'}{end}")
            + kubectl("get", "nodes", "-o", "jsonpath={.items[*].spec.unschedulable}"))


def test_a_context_not_allowed_is_refused_before_any_write(aliased, tmp_path):
    before = pods_and_nodes()
    out = gameday(aliased, "pod-kill-under-load", "--run-dir", str(tmp_path / "run"))
    assert out.returncode == EXIT["error"], out.stdout + out.stderr
    for needle in (f"kube context '{ALIAS}'", "is not allowed", "guard.yaml", f"--allow-context {ALIAS}"):
        assert needle in out.stderr, (needle, out.stderr)
    assert not (tmp_path / "run" / "journal.json").exists() and not (tmp_path / "run" / "chaos.log").exists()
    assert pods_and_nodes() == before


def test_allowed_for_one_run_a_dry_run_names_its_targets_and_changes_nothing(aliased):
    before = pods_and_nodes()
    out = gameday(aliased, "node-drain-respects-pdb", "--dry-run", "--allow-context", ALIAS)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cordon gameday-worker" in out.stdout and "through the Eviction API" in out.stdout
    assert "PodDisruptionBudgets in gameday now: agents allows" in out.stdout
    assert pods_and_nodes() == before
