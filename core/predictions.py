"""What a game day should see, predicted before its faults from the stack's live objects (the
Namespace core.weak_spots reads) and the method's actions as they will be called; the report sets
each prediction beside what the verdict it names observed. A wrong prediction is a finding about
the stack or about this model, shown with both numbers.

Ready pods lost: below what was ready when the fault struck (the load may have scaled the
Deployment since the prediction; what a fault takes does not depend on that as much).

    kill_pods                 lost = pods killed (a delete asks no PDB)
    drain_node                lost = its pods on the drained node, but no more than its PDB lets go
                              (evictions wait for the budget); the drain completes unless a pod on
                              the node is under two PDBs or its PDB allows no disruption
    fail_nodes                lost = its pods on the failed node (no PDB asked)

Read from the stack's namespace only: pods of other namespaces on a drained node are not seen.
"""

from collections import Counter
from dataclasses import asdict, dataclass

from core.weak_spots import Namespace, matches, pdb_floor

# the verdict measure (Verdict.details) each predicted quantity is set against
READY_LOST, DRAIN_COMPLETES = "ready_lost", "completed"


@dataclass(frozen=True)
class Prediction:
    verdict: str        # the verdict's name it is set against: failover_recovered[core-api] after kill-a-pod
    quantity: str       # what is predicted, in words
    measure: str        # the verdict's detail holding the observation (or "completed": its status)
    predicted: int | bool
    why: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Fault:
    """An action of the method as it will be called: its name, function and arguments."""
    name: str
    func: str
    arguments: dict


def _terms(selector: str) -> dict:
    return dict(term.split("=", 1) for term in selector.split(",") if "=" in term)


def _pods(ns: Namespace, selector: dict) -> list[dict]:
    return [p for p in ns.pods if matches(p["metadata"].get("labels") or {}, {"matchLabels": selector})]


def _ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions") or [])


def _busiest(pods: list[dict]) -> tuple[str, int]:
    """The node running most of the pods (ties: first by name), as actions.nodes.busiest_worker picks."""
    counts = Counter(p["spec"].get("nodeName") for p in pods if p["spec"].get("nodeName"))
    if not counts:
        return "", 0
    node = min(counts, key=lambda n: (-counts[n], n))
    return node, counts[node]


def _guarding(ns: Namespace, pod: dict) -> list[dict]:
    labels = pod["metadata"].get("labels") or {}
    return [b for b in ns.pdbs if b["spec"].get("selector") is not None and matches(labels, b["spec"]["selector"])]


def ready_lost(ns: Namespace, deployment: dict, fault: Fault) -> tuple[int, str] | None:
    """The ready pods of the Deployment the fault should take at most, and why; None when the
    fault does not touch its pods (or is not one this model knows)."""
    own = _pods(ns, deployment["spec"]["selector"].get("matchLabels") or {})
    ready = sum(_ready(p) for p in own)
    name = deployment["metadata"]["name"]
    selector = _terms(fault.arguments.get("label_selector") or fault.arguments.get("pods_label_selector") or "")
    hit = [p for p in own if selector and matches(p["metadata"].get("labels") or {}, {"matchLabels": selector})]
    if not hit:
        return None
    if fault.func == "kill_pods":
        killed = min(int(fault.arguments.get("qty", 1)), len(hit))
        return killed, f"{killed} of its {ready} ready pods killed at once (a delete asks no PDB)"
    if fault.func not in ("drain_node", "fail_nodes"):
        return None
    node, on_node = _busiest(_pods(ns, selector))
    on_node = sum(p["spec"].get("nodeName") == node for p in own)
    lost, why = on_node, f"{on_node} of its {ready} ready pods on {node}, the node it picks"
    if fault.func == "drain_node":
        floors = [(b["metadata"]["name"], pdb_floor(b["spec"].get("minAvailable"), b["spec"].get("maxUnavailable"),
                                                    len(_pods(ns, b["spec"]["selector"].get("matchLabels") or {}))))
                  for b in _guarding(ns, own[0])]
        floor = max((f for _, f in floors if f is not None), default=None)
        if floor is not None and ready - floor < lost:
            lost, why = max(0, ready - floor), why + f"; PDB {', '.join(n for n, _ in floors)} keeps {floor} (evictions wait)"
    return lost, why


def drain_completes(ns: Namespace, fault: Fault) -> tuple[str, bool, str]:
    """(the node the drain picks, whether it should complete, why)."""
    selector = _terms(fault.arguments.get("pods_label_selector") or "")
    node = fault.arguments.get("node") or _busiest(_pods(ns, selector))[0]
    for pod in (p for p in ns.pods if p["spec"].get("nodeName") == node):
        budgets = _guarding(ns, pod)
        if len(budgets) > 1:
            return node, False, (f"{pod['metadata']['name']} on {node} is under PDBs "
                           f"{', '.join(b['metadata']['name'] for b in budgets)}: the Eviction API refuses it")
        for budget in budgets:
            guarded = len(_pods(ns, budget["spec"]["selector"].get("matchLabels") or {}))
            floor = pdb_floor(budget["spec"].get("minAvailable"), budget["spec"].get("maxUnavailable"), guarded)
            if floor is not None and floor >= guarded:
                return node, False, f"PDB {budget['metadata']['name']} keeps {floor} of its {guarded} pods: no eviction"
    return node, True, f"every pod on {node} may be evicted, one budget at a time"


def predict(ns: Namespace, faults: list[Fault], failovers: list[str], drains: bool) -> list[Prediction]:
    """The predictions for the Deployments whose failover is judged (by name) after each fault,
    and for each drain's completion when drain_completed is judged."""
    predictions = []
    deployments = {w["metadata"]["name"]: w for w in ns.workloads if w["kind"] == "Deployment"}
    for fault in faults:
        for name in failovers:
            if name in deployments and (found := ready_lost(ns, deployments[name], fault)):
                predictions.append(Prediction(f"failover_recovered[{name}] after {fault.name}", "ready pods lost",
                                              READY_LOST, *found))
        if drains and fault.func == "drain_node":
            node, completes, why = drain_completes(ns, fault)
            predictions.append(Prediction(f"drain_completed[{node}]", "the drain completes", DRAIN_COMPLETES,
                                          completes, why))
    return predictions
