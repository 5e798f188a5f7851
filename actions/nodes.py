"""Node faults as Chaos Toolkit actions, and their rollbacks: drain (uncordon), and for kind
clusters stop/start of a node's container (a machine dying and coming back).

chaostoolkit-kubernetes 0.39 cannot serve here (../shared/MACHINE.md): its drain_nodes gives up on
the first eviction a PodDisruptionBudget refuses (HTTP 429) and leaves the node cordoned. A real
drain, like `kubectl drain`, retries refused evictions until the budget allows them; this one also
counts them, so the journal holds the evidence `pdb_respected` and `drain_completed` report.

Every node this suite cordons carries the annotation CORDONED_BY; `uncordon_drained_nodes` (the
rollback) uncordons exactly those, also after a crash or a Ctrl-C in the middle of a drain.

Which node a fault hits is chosen by select_drain / select_nodes_to_stop, which the dry run calls
too; a node is refused if it is a control-plane node, the runner's own, or runs pods of a
namespace the target does not allow.
"""

import json
import logging
import re
import subprocess
import time
from collections import Counter
from datetime import datetime, timezone

from kubernetes import client

from core import agents
from core.plans import planned
from core.simulated import NOT_SIMULATED
from core.target import Target
from edge.kube import (API_ERRORS, core_api, named_with_pdbs, node_is_ready, pod_seen, pods_under_several_pdbs,
                       ready_selected)
from edge.poll import poll

log = logging.getLogger("chaostoolkit")
CORDONED_BY = "kube-gameday/cordoned-at"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def busiest_worker(core: client.CoreV1Api, pods_label_selector: str, ns: str) -> str:
    """The schedulable worker running the most pods the selector matches (ties: first by name):
    draining it disrupts the most, which is what the experiment means to test."""
    if not pods_label_selector:
        raise ValueError("name the node (node, nodes or zone) or the pods whose busiest worker to pick "
                         "(pods_label_selector)")
    workers = [n.metadata.name for n in core.list_node(label_selector=NOT_SIMULATED).items
               if CONTROL_PLANE not in (n.metadata.labels or {}) and not n.spec.unschedulable]
    pods = core.list_namespaced_pod(ns, label_selector=pods_label_selector).items
    counts = {w: sum(p.spec.node_name == w for p in pods) for w in sorted(workers)}
    if not counts or max(counts.values()) == 0:
        raise RuntimeError(f"no schedulable worker runs a pod matching {pods_label_selector!r} in {ns!r}")
    return max(counts, key=counts.get)


def evictable(pod: client.V1Pod) -> bool:
    """What `kubectl drain` evicts: not DaemonSet pods (their controller ignores cordons), not
    static (mirror) pods, not pods already finished."""
    owners = pod.metadata.owner_references or []
    return (not any(o.kind == "DaemonSet" for o in owners)
            and "kubernetes.io/config.mirror" not in (pod.metadata.annotations or {})
            and pod.status.phase not in ("Succeeded", "Failed"))


def pods_on(core: client.CoreV1Api, node: str) -> list[client.V1Pod]:
    """The pods a drain would evict from `node` (and a node stop would take down with it)."""
    return [p for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items if evictable(p)]


def pod_names_on(core: client.CoreV1Api, node: str) -> list[str]:
    """ns/name of pods_on(node), sorted: what a dry run says a fault would touch."""
    return sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods_on(core, node))


def check_node_may_fail(core: client.CoreV1Api, target: Target, node: str, fault: str) -> None:
    """Refuses a fault on a control-plane node, on the runner's own node, or on a node running pods
    (other than its DaemonSet and static ones, which belong to the node, and the suite's own node
    agents) of namespaces this run may not touch; a node the cluster does not have is named as
    such (LookupError)."""
    try:
        labels = core.read_node(node).metadata.labels or {}
    except client.ApiException as err:
        if err.status == 404:
            raise LookupError(f"node {node!r} does not exist in this cluster: no {fault} applied") from None
        raise
    if CONTROL_PLANE in labels:
        raise PermissionError(f"{node} is a control-plane node: off limits to {fault} (the cluster's API "
                              "and the suite's ports live there)")
    if node == target.runner_node:
        raise PermissionError(f"{node} runs this game day's own runner pod: a {fault} would stop the run "
                              "before its rollbacks (pin the runner to a node game days leave alone)")
    foreign = [f"{p.metadata.namespace}/{p.metadata.name}" for p in pods_on(core, node)
               if p.metadata.namespace != agents.NAMESPACE and target.refusal(p.metadata.namespace)]
    if foreign:
        allowed = ", ".join((target.namespace, *target.allowed_namespaces))
        raise PermissionError(f"{node} runs pods outside the namespaces this game day may touch ({allowed}): "
                              f"{', '.join(foreign)}; a {fault} would touch them (allow their namespace in "
                              "guard.yaml, or keep them off the workers)")


def _cordon(core: client.CoreV1Api, node: str, cordoned: bool) -> None:
    stamp = datetime.now(timezone.utc).isoformat() if cordoned else None  # None removes the annotation
    core.patch_node(node, {"spec": {"unschedulable": cordoned}, "metadata": {"annotations": {CORDONED_BY: stamp}}})


def _refusing_budget(err: client.ApiException) -> str:
    """The PDB a 429 names in its causes ("The disruption budget core-api needs 2 healthy pods...")."""
    try:
        causes = json.loads(err.body or "{}").get("details", {}).get("causes", [])
    except ValueError:
        causes = []
    for cause in causes:
        found = re.search(r"disruption budget (\S+)", cause.get("message", ""))
        if found:
            return found.group(1)
    return "?"


def _evict(core: client.CoreV1Api, pod: client.V1Pod) -> tuple[str, str]:
    """(outcome, PDB): evicted | refused (the PDB said no for now: 429, retried) | gone (already deleted) |
    blocked (more than one PDB selects the pod: the Eviction API never evicts it, nor would
    `kubectl drain`; a defect of the stack the drain reports, not a reason to delete the pod)."""
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace))
    try:
        core.create_namespaced_pod_eviction(pod.metadata.name, pod.metadata.namespace, body)
        return "evicted", ""
    except client.ApiException as err:
        if err.status == 429:
            return "refused", _refusing_budget(err)
        if err.status == 404:
            return "gone", ""
        if err.status == 500 and "more than one PodDisruptionBudget" in (err.body or ""):
            return "blocked", ""
        raise


def select_drain(core: client.CoreV1Api, target: Target, pods_label_selector: str, ns: str, node: str) -> str:
    """The node a drain hits: `node`, else the busiest worker for the selector; refused if it may not fail."""
    target.check_namespace(ns)
    node = node or busiest_worker(core, pods_label_selector, ns)
    check_node_may_fail(core, target, node, "drain")
    return node


def _plan_drain(a: dict, target: Target) -> list[str]:
    core = core_api(target.context)
    ns = a["ns"] or target.namespace
    node = select_drain(core, target, a["pods_label_selector"], ns, a["node"])
    pods = pod_names_on(core, node)
    pdbs = client.PolicyV1Api(core.api_client).list_namespaced_pod_disruption_budget(ns).items
    budgets = ", ".join(f"{p.metadata.name} allows {p.status.disruptions_allowed}" for p in pdbs) or "none"
    stuck = pods_under_several_pdbs(core, ns)
    return [f"cordon {node} and evict its {len(pods)} pod(s) through the Eviction API, retrying refusals for "
            f"up to {a['timeout_s']:.0f} s: {', '.join(pods)}", f"PodDisruptionBudgets in {ns} now: {budgets}",
            *([f"no drain can move (more than one PDB selects them): {named_with_pdbs(stuck)}"] if stuck else [])]


def _several_pdbs(core: client.CoreV1Api, ns: str) -> dict[str, list[str]] | None:
    """The namespace's pods under more than one PDB as the drain starts (the evidence of
    pdbs_disjoint, whichever node the drain hits); None if the API could not say."""
    try:
        return pods_under_several_pdbs(core, ns)
    except API_ERRORS as err:
        log.warning("drain: could not read which pods more than one PDB selects: %s", err)
        return None


@planned(_plan_drain)
def drain_node(pods_label_selector: str = "", ns: str = "", node: str = "", timeout_s: float = 180, retry_s: float = 2,
               configuration: dict | None = None) -> dict:
    """Cordons `node` (default: the busiest worker for the selector, in `ns`, default the target's
    namespace) and evicts its pods through the Eviction API, retrying refused evictions every
    retry_s, until none is left or timeout_s passes, or only pods no eviction can move are left.
    Returns what happened: the node, pods evicted, evictions refused (in all and by PDB), pods
    blocked, pods left, whether it completed; and the pods of `ns` that more than one PDB selects,
    on any node (what blocks the next drain, if not this one)."""
    target = Target.of(configuration)
    core = core_api(target.context)
    ns = ns or target.namespace
    node = select_drain(core, target, pods_label_selector, ns, node)
    several = _several_pdbs(core, ns)
    _cordon(core, node, True)
    started, evicted, refused, blocked, left = time.monotonic(), [], Counter(), [], []
    refused_pod: dict[str, tuple[str, int]] = {}  # pod -> (PDB that last refused it, refusals)
    log.info("drain %s: cordoned; evicting its pods", node)
    while True:
        pods = {f"{p.metadata.namespace}/{p.metadata.name}": p for p in pods_on(core, node)}
        left = sorted(pods)
        if set(left) <= set(blocked) or time.monotonic() - started > timeout_s:
            break
        for key, pod in pods.items():
            if pod.metadata.deletion_timestamp or key in blocked:
                continue  # evicted already and terminating gracefully, or never evictable
            outcome, budget = _evict(core, pod)
            if outcome == "evicted":
                evicted.append(key)
            elif outcome == "refused":
                refused[budget] += 1
                refused_pod[key] = (budget, refused_pod.get(key, ("", 0))[1] + 1)
            elif outcome == "blocked":
                blocked.append(key)
                log.error("drain %s: %s is selected by more than one PodDisruptionBudget; "
                          "the Eviction API refuses it for good", node, key)
        log.info("drain %s: %d pod(s) left, %d evicted, %d eviction(s) refused by a PDB so far",
                 node, len(pods), len(evicted), sum(refused.values()))
        time.sleep(retry_s)
    took = round(time.monotonic() - started, 1)
    why = {key: _why_left(core, pods[key], refused_pod.get(key), key in blocked) for key in left}
    if left:
        log.error("drain %s: incomplete after %.0f s; still there: %s", node, took,
                  "; ".join(f"{key} ({reason})" for key, reason in why.items()))
    return {"node": node, "completed": not left, "duration_s": took, "evicted": evicted,
            "refused_evictions": sum(refused.values()), "refused_by_pdb": dict(refused),
            "blocked_by_several_pdbs": blocked, "left": left, "why_left": why,
            "namespace": ns, "pods_under_several_pdbs": several}


def _why_left(core: client.CoreV1Api, pod: client.V1Pod, refusals: tuple[str, int] | None, blocked: bool) -> str:
    """Why a drain did not move this pod: what an SRE needs to fix it, read at the timeout."""
    if blocked:
        return "selected by more than one PodDisruptionBudget"
    if pod.metadata.deletion_timestamp:
        return f"evicted, still terminating (deletion requested {pod.metadata.deletion_timestamp.isoformat()})"
    if not refusals:
        return "no eviction tried yet"
    budget, times = refusals
    try:
        state = _budget_state(core, budget, pod.metadata.namespace)
    except Exception as err:  # the reason is a courtesy: never worth losing the drain's record
        state = f"PDB unreadable: {type(err).__name__}"
    return f"eviction refused {times}x by PDB {budget} ({state})"


def _budget_state(core: client.CoreV1Api, budget: str, ns: str) -> str:
    pdb = client.PolicyV1Api(core.api_client).read_namespaced_pod_disruption_budget(budget, ns)
    ready = ready_selected(pdb, [pod_seen(p) for p in core.list_namespaced_pod(ns).items])
    return budget_state(pdb.status, ready)


def budget_state(status: client.V1PodDisruptionBudgetStatus, ready: int) -> str:
    """A PDB's status, and whether its Ready pods bear it out. The Eviction API decides on that
    status, which the disruption controller re-syncs only when the PDB or one of its pods changes,
    and of several PDBs selecting a pod it re-syncs just one: after an overlapping PDB is deleted,
    the other may refuse every eviction on a status from before, until one of its pods changes."""
    state = (f"{status.current_healthy} healthy of {status.desired_healthy} needed, "
             f"{status.disruptions_allowed} disruption(s) allowed")
    if ready != status.current_healthy or (status.disruptions_allowed == 0 and ready > status.desired_healthy):
        state += (f"; yet {ready} of its pods are Ready: a stale status, which the disruption controller "
                  "re-syncs only when the PDB or one of its pods changes")
    return state


def uncordon_drained_nodes(configuration: dict | None = None) -> list[str]:
    """Rollback: uncordons every node this suite cordoned (annotation CORDONED_BY), and only those."""
    core = core_api(Target.of(configuration).context)
    nodes = cordoned_nodes(core)
    for node in nodes:
        _cordon(core, node, False)
        log.info("uncordoned %s", node)
    return nodes


# ---- node failure: a kind node is a docker container; stopping it is the machine dying ----

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def is_kind(context: str) -> bool:
    return context.startswith("kind-")


def kind_cluster(context: str) -> str:
    """The kind cluster behind the target's context (kind-NAME); anything else is refused: stopping
    a node means stopping a container this machine runs, never a remote machine."""
    if not is_kind(context):
        raise RuntimeError(f"kube context {context!r} is not a kind cluster: node stop/start only "
                           "applies to kind nodes (docker containers on this machine)")
    return context.removeprefix("kind-")


def _docker(*args: str) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    if proc.returncode:
        raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def node_ready(core: client.CoreV1Api, node: str) -> bool:
    return node_is_ready(core.read_node(node))


def select_nodes_to_stop(core: client.CoreV1Api, target: Target, pods_label_selector: str, ns: str,
                         nodes: list[str] | None, zone: str, fault: str = "node stop") -> list[str]:
    """`nodes`, or every worker of `zone`, or else the busiest worker for the selector; refused if
    one of them may not fail."""
    target.check_namespace(ns)
    if zone:
        nodes = [n.metadata.name for n in core.list_node(label_selector=f"topology.kubernetes.io/zone={zone},{NOT_SIMULATED}").items
                 if CONTROL_PLANE not in (n.metadata.labels or {})]
        if not nodes:
            raise RuntimeError(f"no worker node in zone {zone!r}")
    nodes = nodes or [busiest_worker(core, pods_label_selector, ns)]
    for node in nodes:
        check_node_may_fail(core, target, node, fault)
    return nodes


def _plan_stop(a: dict, target: Target) -> list[str]:
    core = core_api(target.context)
    kind_cluster(target.context)
    zone = f" (zone {a['zone']})" if a["zone"] else ""
    return [f"stop the container of node {node}{zone}, taking down: "
            + ", ".join(pod_names_on(core, node))
            for node in select_nodes_to_stop(core, target, a["pods_label_selector"], a["ns"] or target.namespace,
                                             a["nodes"], a["zone"])]


@planned(_plan_stop)
def stop_nodes(pods_label_selector: str = "", ns: str = "", nodes: list[str] | None = None, zone: str = "",
               configuration: dict | None = None) -> dict:
    """Stops the containers of kind nodes, as if the machines died: `nodes`, or every worker of
    `zone`, or else the busiest worker for the selector. Returns the nodes stopped and when."""
    target = Target.of(configuration)
    cluster, core = kind_cluster(target.context), core_api(target.context)
    nodes = select_nodes_to_stop(core, target, pods_label_selector, ns or target.namespace, nodes, zone)
    for node in nodes:
        owner = _docker("inspect", "-f", f'{{{{index .Config.Labels "{KIND_CLUSTER_LABEL}"}}}}', node)
        if owner != cluster:
            raise RuntimeError(f"container {node!r} is not a node of kind cluster {cluster!r} (label {owner!r})")
    for node in nodes:
        _docker("stop", "--time", "0", node)  # no shutdown grace: a power cut
        log.info("stopped node %s (container)", node)
    return {"nodes": nodes, "zone": zone, "stopped_at": datetime.now(timezone.utc).isoformat()}


def stopped_node_containers(cluster: str) -> list[str]:
    return _docker("ps", "-a", "--filter", f"label={KIND_CLUSTER_LABEL}={cluster}", "--filter", "status=exited",
                   "--format", "{{.Names}}").split()


def cordoned_nodes(core: client.CoreV1Api) -> list[str]:
    """The nodes this suite cordoned (annotation CORDONED_BY)."""
    return [n.metadata.name for n in core.list_node().items if CORDONED_BY in (n.metadata.annotations or {})]


def start_stopped_nodes(ready_timeout_s: float = 180, configuration: dict | None = None) -> dict:
    """Rollback: starts every stopped node container of the kind cluster and waits until each
    node reports Ready again. On a cluster that is not kind nothing of the suite's can be stopped."""
    target = Target.of(configuration)
    if not is_kind(target.context):
        return {"nodes": [], "ready_after_s": 0.0}
    cluster, core = kind_cluster(target.context), core_api(target.context)
    stopped = stopped_node_containers(cluster)
    for node in stopped:
        _docker("start", node)
        log.info("started node %s; waiting for Ready", node)
    def check():
        waiting = sorted(n for n in stopped if not node_ready(core, n))
        return not waiting, waiting
    ready, waiting, waited = poll(check, ready_timeout_s, f"{', '.join(stopped)} Ready again")
    if not ready:
        raise RuntimeError(f"started but not Ready after {ready_timeout_s:.0f} s: {waiting}")
    return {"nodes": stopped, "ready_after_s": waited}
