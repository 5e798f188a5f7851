"""drain_completed over the journal record a drain leaves (actions.nodes.drain_node's output)."""

from kubernetes.client import V1PodDisruptionBudgetStatus

from actions.nodes import budget_state
from probes.drain import drain_completed


def record(output, status="succeeded"):
    return {"activity": {"name": "drain-a-worker"}, "status": status, "output": output,
            "start": "2026-11-22T00:00:00+00:00", "end": "2026-11-22T00:00:20+00:00"}


def drained(**overrides):
    out = {"node": "w1", "completed": True, "duration_s": 12.5, "evicted": ["ns/a", "ns/b"],
           "refused_evictions": 3, "refused_by_pdb": {"api": 3}, "blocked_by_several_pdbs": [], "left": []}
    return {**out, **overrides}


def test_an_emptied_node_passes_and_counts_the_refusals():
    verdict = drain_completed(record(drained()))
    assert verdict.status == "pass" and verdict.name == "drain_completed[w1]"
    assert "2 pod(s) evicted in 12.5 s, 3 eviction(s) refused and retried" == verdict.observed


def test_a_pod_under_two_budgets_fails_the_drain_and_is_named():
    verdict = drain_completed(record(drained(completed=False, left=["ns/m"], blocked_by_several_pdbs=["ns/m"])))
    assert verdict.status == "fail"
    assert verdict.reason.startswith("ns/m: selected by more than one PodDisruptionBudget")


def test_a_timeout_names_what_was_left_and_why():
    why = {"ns/a": "eviction refused 60x by PDB api (1 healthy of 1 needed, 0 disruption(s) allowed)"}
    verdict = drain_completed(record(drained(completed=False, left=["ns/a", "ns/b"], why_left=why)))
    assert verdict.status == "fail"
    assert verdict.reason == ("still there at the timeout: ns/a (eviction refused 60x by PDB api (1 healthy of 1 "
                              "needed, 0 disruption(s) allowed)); ns/b (no reason recorded)")


def test_a_drain_that_crashed_is_inconclusive_not_a_pass():
    verdict = drain_completed(record(None, status="failed") | {"exception": ["RuntimeError: no worker"]})
    assert verdict.status == "inconclusive" and "no worker" in verdict.reason


def status(healthy, needed, allowed):
    return V1PodDisruptionBudgetStatus(current_healthy=healthy, desired_healthy=needed, disruptions_allowed=allowed,
                                       expected_pods=healthy)


def test_a_budget_its_ready_pods_bear_out_is_stated_as_it_is():
    assert budget_state(status(1, 1, 0), ready=1) == "1 healthy of 1 needed, 0 disruption(s) allowed"


def test_a_budget_refusing_on_a_status_its_pods_outgrew_is_called_stale():
    # what CI met: PDB mca allowed no disruption with 3 MCA pods Ready, until one of them changed
    for stale in (status(3, 1, 0), status(1, 1, 0)):
        assert "yet 3 of its pods are Ready: a stale status" in budget_state(stale, ready=3), stale
