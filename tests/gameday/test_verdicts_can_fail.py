"""A verdict that cannot fail proves nothing. Here the stack is changed on purpose and a game day
must notice: broken (the core API cut to one replica) the matching verdicts fail; fixed (the
overlapping PDB removed) the seed stack's known drain finding goes away. deploy/stack is applied
again afterwards, whatever happened."""

import pytest

from gameday.run import REPO
from tests.kube import kubectl
from tests.waiting import wait_until

EXPERIMENTS = REPO / "experiments"


@pytest.fixture
def stack_restored_after(seed_stack):
    """Yields the namespace; re-applies deploy/stack and waits for every Deployment afterwards."""
    yield seed_stack.namespace
    kubectl("apply", "-k", str(REPO / "deploy" / "stack"))
    for deployment in seed_stack.deployments:
        kubectl("rollout", "status", f"deployment/{deployment}", "-n", seed_stack.namespace, "--timeout=300s")


def ready_replicas(ns: str, deployment: str) -> str:
    return kubectl("get", "deployment", deployment, "-n", ns, "-o",
                   "jsonpath={.spec.replicas}/{.status.readyReplicas}")


def by_name(verdicts, prefix: str) -> list:
    return [v for v in verdicts if v.name.startswith(prefix)]


@pytest.mark.gameday
@pytest.mark.cluster
def test_one_core_api_replica_fails_pod_kill(game_day, stack_restored_after):
    ns = stack_restored_after
    # above maxReplicas the HPA scales down at once, without its stabilization window
    kubectl("patch", "hpa", "core-api", "-n", ns, "--type=merge", "-p", '{"spec":{"minReplicas":1,"maxReplicas":1}}')
    wait_until(lambda: ready_replicas(ns, "core-api") == "1/1", timeout=120, what="core-api at 1/1")
    result = game_day(EXPERIMENTS / "pod-kill-under-load.yaml")
    assert not result.error, result.error
    pdb, = by_name(result.verdicts, "pdb_respected[core-api]")
    assert pdb.status == "fail", pdb
    assert all(v.details["lowest_ready"] == 0 for v in by_name(result.verdicts, "failover_recovered")), \
        "each kill took the only pod"
    failed, = by_name(result.verdicts, "failed_requests")
    assert failed.status == "fail", failed
    # (longest_outage may still pass: the killed pod drains for 5 s while its replacement starts)


@pytest.mark.gameday
@pytest.mark.cluster
def test_drain_completes_once_pdbs_do_not_overlap(game_day, stack_restored_after):
    ns = stack_restored_after
    kubectl("delete", "pdb", "agents", "-n", ns)
    # PDB mca's status may be from before (when its pods were selected by two PDBs, pod changes
    # re-synced only one of them) and refuse every eviction until an MCA pod changes: CI failed on
    # that once. Two updates of the PDB make the disruption controller re-sync it now.
    kubectl("annotate", "pdb", "mca", "-n", ns, "--overwrite", "kube-gameday/resync=1")
    kubectl("annotate", "pdb", "mca", "-n", ns, "kube-gameday/resync-")
    wait_until(lambda: kubectl("get", "pdb", "mca", "-n", ns, "-o", "jsonpath={.status.disruptionsAllowed}") not in ("", "0"),
               timeout=60, what="PDB mca to allow a disruption")
    result = game_day(EXPERIMENTS / "node-drain-respects-pdb.yaml")
    assert not result.error, result.error
    drain, = by_name(result.verdicts, "drain_completed")
    assert drain.status == "pass" and not drain.evidence["left"], f"{drain.status}: {drain.reason}"  # reason: why each pod stayed
    for name in ("pdb_respected[core-api]", "pdb_respected[mca]", "failover_recovered", "longest_outage"):
        verdict, = by_name(result.verdicts, name)
        assert verdict.status == "pass", f"{verdict.name} {verdict.status}: {verdict.observed}; {verdict.reason}"
    agents, = by_name(result.verdicts, "pdb_respected[agents]")
    assert agents.status == "inconclusive" and "missing PDB" in agents.reason, agents
