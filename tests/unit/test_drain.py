"""drain_completed and pdbs_disjoint over the journal record a drain leaves (actions.nodes.drain_node's
output); the PDB selector as the API's label query."""

from kubernetes.client import V1LabelSelector, V1LabelSelectorRequirement, V1PodDisruptionBudgetStatus

from actions.nodes import budget_state
from edge.kube import selector_string
from probes.drain import drain_completed, pdbs_disjoint


def record(output, status="succeeded"):
    return {"activity": {"name": "drain-a-worker"}, "status": status, "output": output,
            "start": "2026-11-22T00:00:00+00:00", "end": "2026-11-22T00:00:20+00:00"}


def drained(**overrides):
    out = {"node": "w1", "completed": True, "duration_s": 12.5, "evicted": ["ns/a", "ns/b"],
           "refused_evictions": 3, "refused_by_pdb": {"api": 3}, "blocked_by_several_pdbs": [], "left": [],
           "namespace": "ns", "pods_under_several_pdbs": {}}
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


def test_pods_under_two_budgets_fail_pdbs_disjoint_even_when_the_drain_completed():
    # the drained worker ran no MCA pod, another worker does: its drain would stop there
    verdict = pdbs_disjoint(record(drained(pods_under_several_pdbs={"ns/mca-1": ["agents", "mca"]})))
    assert verdict.status == "fail" and verdict.name == "pdbs_disjoint[ns]"
    assert verdict.reason.startswith("more than one PodDisruptionBudget selects ns/mca-1 (agents, mca)")


def test_disjoint_budgets_pass_and_an_unread_overlap_is_inconclusive():
    assert pdbs_disjoint(record(drained())).status == "pass"
    unread = pdbs_disjoint(record(drained(pods_under_several_pdbs=None)))
    assert unread.status == "inconclusive" and "could not read" in unread.reason
    crashed = pdbs_disjoint(record(None, status="failed"))
    assert crashed.status == "inconclusive" and "the drain action failed" in crashed.reason


def test_a_pdb_selector_becomes_the_label_query_the_api_matches():
    expressions = [V1LabelSelectorRequirement(key="tier", operator="In", values=["agents", "core"]),
                   V1LabelSelectorRequirement(key="canary", operator="DoesNotExist"),
                   V1LabelSelectorRequirement(key="zone", operator="NotIn", values=["c"]),
                   V1LabelSelectorRequirement(key="team", operator="Exists")]
    selector = V1LabelSelector(match_labels={"app": "mca"}, match_expressions=expressions)
    assert selector_string(selector) == "app=mca,tier in (agents,core),!canary,zone notin (c),team"
    assert selector_string(V1LabelSelector()) == ""  # empty: every pod of the namespace


def status(healthy, needed, allowed):
    return V1PodDisruptionBudgetStatus(current_healthy=healthy, desired_healthy=needed, disruptions_allowed=allowed,
                                       expected_pods=healthy)


def test_a_budget_its_ready_pods_bear_out_is_stated_as_it_is():
    assert budget_state(status(1, 1, 0), ready=1) == "1 healthy of 1 needed, 0 disruption(s) allowed"


def test_a_budget_refusing_on_a_status_its_pods_outgrew_is_called_stale():
    # what CI met: PDB mca allowed no disruption with 3 MCA pods Ready, until one of them changed
    for stale in (status(3, 1, 0), status(1, 1, 0)):
        assert "yet 3 of its pods are Ready: a stale status" in budget_state(stale, ready=3), stale
