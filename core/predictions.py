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

A drain's completion is read from every namespace the game day may touch (the guard refuses a
drain of a node running pods of any other), each PDB over the pods of its own namespace.

Replicas the HPA reaches under a load surge: from the capacity model of the stack's latest
step-load run (probes.capacity: requests/s per replica at the HPA's CPU target, ±2σ, and the
Deployment's share of the entry requests), the surge's users times the requests/s one user made
in that run's steps that held the SLO, and the HPA's own behavior.scaleUp (stabilization window,
rate policies) played sync by sync for as long as the surge lasts. CPU only: an HPA also scaling
on memory or custom metrics may go higher.

By when an expected alert fires (alert_fired): its rule's budget as Prometheus has it loaded
(detection + for + evaluation + scrape), or never, when no such rule is loaded.
"""

import math
from collections import Counter
from dataclasses import asdict, dataclass

from core.roles import terms_of
from core.weak_spots import Namespace, matches, pdb_floor

# the verdict measure (Verdict.details) each predicted quantity is set against
READY_LOST, DRAIN_COMPLETES, HPA_PEAK, FIRE_AFTER = "ready_lost", "completed", "peak", "fire_after_s"
# the HPA's default scale-up (autoscaling/v2): no stabilization, the faster of doubling or 4 pods a 15 s
DEFAULT_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                                 {"type": "Pods", "value": 4, "periodSeconds": 15}]}
SYNC_S = 15          # the HPA controller's sync period
METRICS_LAG_S = 30   # metrics-server's 15 s resolution and one sync before the HPA sees a new load


@dataclass(frozen=True)
class Prediction:
    verdict: str        # the verdict's name it is set against: failover_recovered[core-api] after kill-a-pod
    quantity: str       # what is predicted, in words
    measure: str        # the verdict's detail holding the observation (or "completed": its status)
    predicted: int | bool | None   # None: not predicted, `why` says why
    why: str
    low: int | None = None    # a predicted range (the model's ±2σ): agrees when the observation is in it
    high: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def shown_prediction(p: Prediction) -> str:
    if p.predicted is None:
        return "not predicted"
    if p.predicted is False and p.measure == FIRE_AFTER:
        return "never fires"
    if p.low is None or p.high is None or p.low == p.high:
        return str(p.predicted)
    return f"≤ {p.high}" if p.low == 0 and p.predicted == p.high else f"{p.predicted} ({p.low}–{p.high})"


def alert_fires_by(alert: str, after: str, detection_s: float, timing: dict | None, unknown: str = "",
                   loaded: bool = True) -> Prediction:
    """An alert an experiment expects: it fires within its rule's own budget of the fault (how
    long the fault takes to show + for + evaluation + scrape, Prometheus' loaded timing: probes.
    alerts.rule_timing); with no such rule loaded it never fires; without timing, `unknown` says why."""
    verdict, quantity = f"alert_fired[{alert}]", f"seconds from {after} to firing"
    if not loaded:
        return Prediction(verdict, quantity, FIRE_AFTER, False, f"no such rule: {unknown}")
    if timing is None:
        return Prediction(verdict, quantity, FIRE_AFTER, None, unknown)
    bound = math.ceil(detection_s + timing["for_s"] + timing["eval_s"] + timing["scrape_s"])
    return Prediction(verdict, quantity, FIRE_AFTER, bound,
                      f"detection {detection_s:g} + for {timing['for_s']:g} + evaluation {timing['eval_s']:g} "
                      f"+ scrape {timing['scrape_s']:g} s, as Prometheus has the rule loaded", 0, bound)


@dataclass(frozen=True)
class Fault:
    """An action of the method as it will be called: its name, function and arguments."""
    name: str
    func: str
    arguments: dict


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


def _namespace(obj: dict) -> str | None:
    return obj["metadata"].get("namespace")


def _namespace_of(ns: Namespace) -> str | None:
    return next((_namespace(o) for o in ns.pods + ns.workloads if _namespace(o)), None)


def _guarding(ns: Namespace, pod: dict) -> list[dict]:
    """The PDBs selecting the pod: of its own namespace (a PDB selects no other's)."""
    labels = pod["metadata"].get("labels") or {}
    return [b for b in ns.pdbs if b["spec"].get("selector") is not None and _namespace(b) == _namespace(pod)
            and matches(labels, b["spec"]["selector"])]


def _budgeted(ns: Namespace, budget: dict) -> list[dict]:
    return [p for p in _pods(ns, budget["spec"]["selector"].get("matchLabels") or {})
            if _namespace(p) == _namespace(budget)]


def ready_lost(ns: Namespace, deployment: dict, fault: Fault) -> tuple[int, str] | None:
    """The ready pods of the Deployment the fault should take at most, and why; None when the
    fault does not touch its pods (or is not one this model knows)."""
    own = _pods(ns, deployment["spec"]["selector"].get("matchLabels") or {})
    ready = sum(_ready(p) for p in own)
    name = deployment["metadata"]["name"]
    selector = terms_of(fault.arguments.get("label_selector") or fault.arguments.get("pods_label_selector") or "")
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
                                                    len(_budgeted(ns, b))))
                  for b in _guarding(ns, own[0])]
        floor = max((f for _, f in floors if f is not None), default=None)
        if floor is not None and ready - floor < lost:
            lost, why = max(0, ready - floor), why + f"; PDB {', '.join(n for n, _ in floors)} keeps {floor} (evictions wait)"
    return lost, why


def drain_completes(ns: Namespace, fault: Fault, around: Namespace | None = None) -> tuple[str, bool, str]:
    """(the node the drain picks, whether it should complete, why). around: the objects of every
    namespace the drain may evict from (default: the stack's alone)."""
    around = around or ns
    selector = terms_of(fault.arguments.get("pods_label_selector") or "")
    node = fault.arguments.get("node") or _busiest(_pods(ns, selector))[0]
    for pod in (p for p in around.pods if p["spec"].get("nodeName") == node):
        budgets = _guarding(around, pod)
        where = f"{_namespace(pod)}/" if _namespace(pod) and _namespace(pod) != _namespace_of(ns) else ""
        if len(budgets) > 1:
            return node, False, (f"{where}{pod['metadata']['name']} on {node} is under PDBs "
                                 f"{', '.join(b['metadata']['name'] for b in budgets)}: the Eviction API refuses it")
        for budget in budgets:
            guarded = len(_budgeted(around, budget))
            floor = pdb_floor(budget["spec"].get("minAvailable"), budget["spec"].get("maxUnavailable"), guarded)
            if floor is not None and floor >= guarded:
                return node, False, (f"PDB {where}{budget['metadata']['name']} keeps {floor} of its {guarded} pods: "
                                     "no eviction")
    return node, True, f"every pod on {node} may be evicted, one budget at a time"


@dataclass(frozen=True)
class Surge:
    """The load a scale-out game day drives: its peak users and how long they last."""
    users: int
    duration_s: float


def scale_up_limit(replicas: int, added: list[tuple[float, int]], now: float, scale_up: dict) -> int:
    """The most replicas behavior.scaleUp's policies allow at `now`, given the scale-ups so far
    (time, pods added): each policy counts from the replicas at the start of its period."""
    limits = []
    for policy in scale_up.get("policies") or DEFAULT_SCALE_UP["policies"]:
        base = replicas - sum(n for when, n in added if when > now - policy["periodSeconds"])
        limits.append(base + policy["value"] if policy["type"] == "Pods"
                      else math.ceil(base * (1 + policy["value"] / 100)))
    return min(limits) if scale_up.get("selectPolicy") == "Min" else max(limits)


def hpa_reaches(start: int, wanted: int, scale_up: dict, lasting_s: float) -> int:
    """The replicas an HPA at `start` reaches while a load wanting `wanted` (already capped at its
    maximum) lasts: it sees the load METRICS_LAG_S late, recommends the least of its
    recommendations over the stabilization window, and adds no more than its policies allow."""
    if scale_up.get("selectPolicy") == "Disabled":
        return start
    replicas, added = start, []
    now = METRICS_LAG_S + scale_up.get("stabilizationWindowSeconds", 0)
    while now <= lasting_s and replicas < wanted:
        step = min(wanted, scale_up_limit(replicas, added, now, scale_up))
        if step > replicas:
            added.append((now, step - replicas))
            replicas = step
        now += SYNC_S
    return replicas


def rps_per_user(model: dict) -> float | None:
    """Requests/s one user made in the model's steps that held every objective (median)."""
    held = [s["rps"] / s["users"] for s in model.get("steps") or [] if s.get("held") and s["users"] > 0]
    return sorted(held)[len(held) // 2] if held else None


def hpa_peak(hpa: dict, model: dict, surge: Surge) -> tuple[int, int, int, str] | None:
    """(replicas the HPA reaches, low, high, why) under the surge, from a capacity model's
    details (probes.capacity); None when the model has no line for the HPA's Deployment."""
    deployment = hpa["spec"]["scaleTargetRef"]["name"]
    line, per_user = (model.get("deployments") or {}).get(deployment) or {}, rps_per_user(model)
    if "rps_per_replica" not in line or not per_user:
        return None
    low_replicas, high_replicas = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
    scale_up = (hpa["spec"].get("behavior") or {}).get("scaleUp") or DEFAULT_SCALE_UP
    rps = surge.users * per_user * line["fanout"]

    def reached(per_replica: float | None) -> int:
        """None or ≤ 0 (a band reaching zero): as many as the HPA may run."""
        wanted = high_replicas if not per_replica or per_replica <= 0 else math.ceil(rps / per_replica)
        return hpa_reaches(low_replicas, min(high_replicas, max(low_replicas, wanted)), scale_up, surge.duration_s)

    peak = reached(line["rps_per_replica"])
    banded = line.get("high") is not None   # no ±2σ under four steps: the peak alone
    lowest, highest = (reached(line["high"]), reached(line.get("low"))) if banded else (peak, peak)
    why = (f"{surge.users} users × {per_user:.2f} req/s × {line['fanout']:.2f} = {rps:.0f} req/s on {deployment}, "
           f"{line['rps_per_replica']:.1f} req/s per replica at its CPU target: {math.ceil(rps / line['rps_per_replica'])} "
           f"wanted, {low_replicas}–{high_replicas} allowed, {peak} reached in the {surge.duration_s:.0f} s surge "
           "at its scale-up policies (CPU only)")
    return peak, lowest, highest, why


def predict(ns: Namespace, faults: list[Fault], failovers: list[str], drains: bool, scaled: list[str] = (),
            capacity: tuple[dict | None, str] = (None, ""), surge: Surge | None = None,
            around: Namespace | None = None) -> list[Prediction]:
    """The predictions for the Deployments whose failover is judged (by name) after each fault,
    for each drain's completion when drain_completed is judged, and for the replicas each `scaled`
    HPA reaches under the surge (hpa_scaled_out). capacity: (a capacity model's details, where it
    comes from), or (None, why there is none): then the prediction is that reason alone. around:
    the objects of every namespace a drain may evict from (drain_completes)."""
    predictions = []
    deployments = {w["metadata"]["name"]: w for w in ns.workloads if w["kind"] == "Deployment"}
    for fault in faults:
        for name in failovers:
            if name in deployments and (found := ready_lost(ns, deployments[name], fault)):
                predictions.append(Prediction(f"failover_recovered[{name}] after {fault.name}", "ready pods lost",
                                              READY_LOST, *found))
        if drains and fault.func == "drain_node":
            node, completes, why = drain_completes(ns, fault, around)
            predictions.append(Prediction(f"drain_completed[{node}]", "the drain completes", DRAIN_COMPLETES,
                                          completes, why))
    hpas = {h["metadata"]["name"]: h for h in ns.hpas}
    for hpa in (hpas[name] for name in scaled if name in hpas):
        verdict = f"hpa_scaled_out[{hpa['spec']['scaleTargetRef']['name']}]"
        model, source = capacity
        found = hpa_peak(hpa, model, surge) if model and surge else None
        if found:
            peak, low, high, why = found
            predictions.append(Prediction(verdict, "replicas the HPA reaches", HPA_PEAK, peak,
                                          f"{why}; {source}", low, high))
        else:
            unmodelled = (source if model is None else "the experiment drives no load profile" if surge is None
                          else f"{source} has no line for {hpa['spec']['scaleTargetRef']['name']}")
            predictions.append(Prediction(verdict, "replicas the HPA reaches", HPA_PEAK, None, unmodelled))
    return predictions
