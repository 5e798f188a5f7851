"""Weak spots a stack shows before any fault: rules read from its live objects (`gameday check`).
Pure functions over the objects as the API serves them (dicts, camelCase: what `kubectl get -o
json` prints), each finding naming its rule, the object and what in it breaks the rule.

The rules, by name:
    single_replica              a Deployment or StatefulSet that runs one pod (the HPA's minimum counted)
    no_readiness_probe          a container the kubelet never asks whether it can serve
    pdb_allows_no_disruption    minAvailable ≥ the pods it guards, or maxUnavailable 0: no drain gets through
    pdb_selects_no_pod          a PodDisruptionBudget guarding nothing
    pod_under_two_pdbs          the Eviction API refuses to evict a pod two PDBs select
    hpa_target_missing          an HPA whose scaleTargetRef names nothing
    hpa_cannot_scale            maxReplicas = minReplicas
    hpa_without_cpu_requests    an HPA on CPU utilisation over containers with no CPU request
    replicas_may_share_a_node   nothing required keeps the replicas on different nodes
    replicas_may_share_a_zone   nor in different zones
    rollout_takes_every_pod     a rollout may stop every pod at once (Recreate, maxUnavailable ≥ replicas)
    alert_names_missing_metric  an alert rule names a metric Prometheus does not have (from probes.alerts)
"""

import math
from dataclasses import dataclass

NODE_KEY, ZONE_KEY = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class Finding:
    rule: str
    object: str     # Kind/name
    detail: str


@dataclass(frozen=True)
class Namespace:
    """What the rules read: each a list of API objects as dicts."""
    workloads: list[dict]   # Deployments and StatefulSets (their `kind` set)
    pods: list[dict]
    pdbs: list[dict]
    hpas: list[dict]


def _name(obj: dict) -> str:
    return f"{obj.get('kind', '?')}/{obj['metadata']['name']}"


def matches(labels: dict, selector: dict) -> bool:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) against a pod's labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        if op == "In" and labels.get(key) not in values or op == "NotIn" and labels.get(key) in values \
                or op == "Exists" and key not in labels or op == "DoesNotExist" and key in labels:
            return False
    return True


def _selected(selector: dict | None, pods: list[dict]) -> list[dict]:
    """policy/v1: a null selector selects no pod, an empty one every pod of the namespace."""
    if selector is None:
        return []
    return [p for p in pods if matches(p["metadata"].get("labels") or {}, selector)]


def hpa_of(workload: dict, hpas: list[dict]) -> dict | None:
    return next((h for h in hpas if h["spec"]["scaleTargetRef"].get("kind") == workload["kind"]
                 and h["spec"]["scaleTargetRef"]["name"] == workload["metadata"]["name"]), None)


def _replicas(workload: dict, hpas: list[dict]) -> int:
    """The pods it runs at least: its replicas, or its HPA's minimum when one scales it."""
    hpa = hpa_of(workload, hpas)
    return int(hpa["spec"].get("minReplicas", 1)) if hpa else int(workload["spec"].get("replicas", 1))


def _containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"].get("containers") or []


def single_replica(ns: Namespace) -> list[Finding]:
    def said(w: dict) -> str:
        hpa = hpa_of(w, ns.hpas)
        return (f"its HPA {hpa['metadata']['name']} may scale it to {_replicas(w, ns.hpas)} replica" if hpa
                else f"{_replicas(w, ns.hpas)} replica") + ": the loss of that pod is an outage"
    return [Finding("single_replica", _name(w), said(w)) for w in ns.workloads if _replicas(w, ns.hpas) <= 1]


def no_readiness_probe(ns: Namespace) -> list[Finding]:
    return [Finding("no_readiness_probe", _name(w), f"container {c['name']} has none: it takes traffic as soon as "
                    "it starts, and keeps it when it cannot serve")
            for w in ns.workloads for c in _containers(w) if not c.get("readinessProbe")]


def scaled_up(value: int | str, total: int) -> int:
    """An int-or-percent of total, a percentage rounded up as the disruption controller does."""
    if isinstance(value, str) and value.endswith("%"):
        return -(-int(value[:-1]) * total // 100)
    return int(value)


def pdb_floor(min_available: int | str | None, max_unavailable: int | str | None, expected: int) -> int | None:
    """The pods a PDB keeps out of `expected`: minAvailable, or expected − maxUnavailable."""
    if min_available is not None:
        return scaled_up(min_available, expected)
    if max_unavailable is not None:
        return expected - scaled_up(max_unavailable, expected)
    return None


def pdb_rules(ns: Namespace) -> list[Finding]:
    findings, guarded = [], {}
    for pdb in ns.pdbs:
        pods = _selected(pdb["spec"].get("selector"), ns.pods)
        if not pods:
            findings.append(Finding("pdb_selects_no_pod", _name(pdb), "its selector matches no pod of the namespace"))
            continue
        floor = pdb_floor(pdb["spec"].get("minAvailable"), pdb["spec"].get("maxUnavailable"), len(pods))
        if floor is not None and floor >= len(pods):
            findings.append(Finding("pdb_allows_no_disruption", _name(pdb), f"keeps {floor} of the {len(pods)} pod(s) "
                                    "it selects: no eviction, so no drain, ever gets through"))
        for pod in pods:
            guarded.setdefault(pod["metadata"]["name"], []).append(pdb["metadata"]["name"])
    findings += [Finding("pod_under_two_pdbs", f"Pod/{pod}", f"selected by PDBs {', '.join(pdbs)}: the Eviction API "
                         "refuses to evict it (a drain stalls on it)") for pod, pdbs in sorted(guarded.items())
                 if len(pdbs) > 1]
    return findings


def hpa_rules(ns: Namespace) -> list[Finding]:
    findings = []
    targets = {(w["kind"], w["metadata"]["name"]): w for w in ns.workloads}
    for hpa in ns.hpas:
        spec, ref = hpa["spec"], hpa["spec"]["scaleTargetRef"]
        if spec.get("minReplicas", 1) == spec["maxReplicas"]:
            findings.append(Finding("hpa_cannot_scale", _name(hpa), f"minReplicas = maxReplicas = {spec['maxReplicas']}"))
        target = targets.get((ref.get("kind"), ref["name"]))
        if target is None:
            findings.append(Finding("hpa_target_missing", _name(hpa), f"scaleTargetRef {ref.get('kind')}/{ref['name']} "
                                    "does not exist: it scales nothing"))
            continue
        on_cpu = any(m.get("type") == "Resource" and m["resource"]["name"] == "cpu" for m in spec.get("metrics") or [])
        bare = [c["name"] for c in _containers(target) if not ((c.get("resources") or {}).get("requests") or {}).get("cpu")]
        if on_cpu and bare:
            findings.append(Finding("hpa_without_cpu_requests", _name(hpa), f"scales on CPU utilisation, but "
                                    f"{_name(target)} container(s) {', '.join(bare)} request no CPU: no utilisation "
                                    "to compute, it never scales"))
    return findings


def _spread(pod_spec: dict, key: str) -> str:
    """'required' when the scheduler must keep the pods apart across `key`, 'preferred' when it
    only tries, '' when nothing asks."""
    anti = (pod_spec.get("affinity") or {}).get("podAntiAffinity") or {}
    constraints = pod_spec.get("topologySpreadConstraints") or []
    if any(t.get("topologyKey") == key for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []) \
            or any(c.get("topologyKey") == key and c.get("whenUnsatisfiable") == "DoNotSchedule" for c in constraints):
        return "required"
    if any((t.get("podAffinityTerm") or {}).get("topologyKey") == key
           for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []) \
            or any(c.get("topologyKey") == key for c in constraints):
        return "preferred"
    return ""


def spread_rules(ns: Namespace) -> list[Finding]:
    findings = []
    for w in ns.workloads:
        if _replicas(w, ns.hpas) <= 1:
            continue    # single_replica says it
        pod_spec = w["spec"]["template"]["spec"]
        for rule, key, place in (("replicas_may_share_a_node", NODE_KEY, "node"),
                                 ("replicas_may_share_a_zone", ZONE_KEY, "zone")):
            how = _spread(pod_spec, key)
            if how != "required":
                findings.append(Finding(rule, _name(w), f"no required anti-affinity or DoNotSchedule spread on "
                                        f"{key}" + (" (preferred only: the scheduler may still put them together)"
                                                    if how else "") + f": one {place} lost may take every replica"))
    return findings


def rollout_takes_every_pod(ns: Namespace) -> list[Finding]:
    findings = []
    for w in ns.workloads:
        if w["kind"] != "Deployment":
            continue
        strategy, replicas = w["spec"].get("strategy") or {}, _replicas(w, ns.hpas)
        if strategy.get("type") == "Recreate":
            findings.append(Finding("rollout_takes_every_pod", _name(w), "strategy Recreate: every pod stops before "
                                    "the new ones start"))
            continue
        unavailable = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
        count = math.floor(int(unavailable[:-1]) * replicas / 100) if isinstance(unavailable, str) \
            and unavailable.endswith("%") else int(unavailable)
        if count >= replicas:
            findings.append(Finding("rollout_takes_every_pod", _name(w), f"maxUnavailable {unavailable} of "
                                    f"{replicas} replica(s): a rollout may stop them all at once"))
    return findings


RULES = (single_replica, no_readiness_probe, pdb_rules, hpa_rules, spread_rules, rollout_takes_every_pod)


def weak_spots(ns: Namespace) -> list[Finding]:
    """Every finding of every rule, by rule then object."""
    return sorted((f for rule in RULES for f in rule(ns)), key=lambda f: (f.rule, f.object))
