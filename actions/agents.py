"""Host faults through a node agent (core.agents, agent/): they need no docker, no cloud
credentials and no SSH, only the Kubernetes API (node faults here; pod faults: actions.pod_faults), so they work from the in-cluster runner and on
any cluster whose nodes run systemd. Each fault is one privileged pod pinned to its node and one
Lease the runner renews from a thread of the process that applied it (chaos's): if that process
dies, renewals stop and the agent reverts within one lease period; at its deadline it reverts
anyway. The rollback `revert_agent_faults` asks every agent to revert, waits until each says it
did (and its node is Ready again), and deletes the pods and Leases.
"""

import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

from kubernetes import client

from actions.nodes import node_ready, pod_names_on, select_nodes_to_stop
from core import agents as protocol
from core.plans import planned
from core.simulated import NOT_SIMULATED
from core.target import Target
from edge.agents import agent_pod, pod_message
from edge.kube import API_ERRORS, core_api
from edge.poll import poll

log = logging.getLogger("chaostoolkit")
START_TIMEOUT_S = 120
REVERT_TIMEOUT_S = 180


def _leases(core: client.CoreV1Api) -> client.CoordinationV1Api:
    return client.CoordinationV1Api(core.api_client)


def _micro_now() -> datetime:
    return datetime.now(timezone.utc)


class Renewals:
    """The renewals of every Lease this process holds, each every third of its period, from one
    daemon thread: it dies with the process, which is the point (a SIGKILLed runner renews nothing)."""

    TICK_S = 0.5

    def __init__(self):
        self.held: dict[str, tuple[client.CoordinationV1Api, float]] = {}  # name -> (API, renew every s)
        self.lock, self.thread = threading.Lock(), None

    def hold(self, name: str, leases: client.CoordinationV1Api, period_s: float) -> None:
        with self.lock:
            self.held[name] = (leases, period_s / 3)
            if self.thread is None:
                self.thread = threading.Thread(target=self._renew, daemon=True, name="leases")
                self.thread.start()

    def release(self, name: str) -> None:
        with self.lock:
            self.held.pop(name, None)

    def _renew(self) -> None:
        renewed: dict[str, float] = {}
        while True:
            time.sleep(self.TICK_S)
            with self.lock:
                due = [(name, leases) for name, (leases, every_s) in self.held.items()
                       if time.monotonic() - renewed.get(name, 0) >= every_s]
            for name, leases in due:
                try:
                    leases.patch_namespaced_lease(name, protocol.NAMESPACE, {"spec": {"renewTime": _micro_now()}})
                    renewed[name] = time.monotonic()
                except API_ERRORS as err:  # the agent counts the missed renewal; the next may pass
                    log.warning("lease %s not renewed: %s", name, err)


RENEWALS = Renewals()


def _agent_pod(name: str, node: str, fault: str, deadline_s: float, lease_s: float, spec: dict,
               revert_only: bool = False) -> client.V1Pod:
    """The agent of Lease `name`; revert_only: its cleanup agent (core.agents.CLEANUP_SUFFIX)."""
    bounds = ["--revert-only"] if revert_only else ["--deadline-s", str(deadline_s), "--lease-s", str(lease_s)]
    return agent_pod(name + (protocol.CLEANUP_SUFFIX if revert_only else ""), node,
                     "agent", ["--fault", fault, "--lease", name, *bounds, "--spec", json.dumps(spec)],
                     {protocol.FAULT: fault})


def check_bounds(deadline_s: float, lease_s: float) -> None:
    """Every host fault ends by itself: a deadline and a lease period that can bound it (ValueError)."""
    if not (isinstance(deadline_s, (int, float)) and deadline_s > 0):
        raise ValueError(f"deadline_s must be a number of seconds > 0 (got {deadline_s!r}): the agent "
                         "reverts at its deadline, so every host fault needs one")
    if not (isinstance(lease_s, (int, float)) and lease_s >= 3):
        raise ValueError(f"lease_s must be a number of seconds ≥ 3 (renewed every third of it; got {lease_s!r})")


def start_agent(core: client.CoreV1Api, node: str, fault: str, deadline_s: float, lease_s: float,
                spec: dict | None = None) -> dict:
    """Creates the Lease and the agent pod, keeps the Lease renewed, and waits until the agent
    says the fault is applied; RuntimeError (the agent reverted or ended) if the node refused it.
    spec: what the fault needs to know that only the cluster knows (agent.faults)."""
    check_bounds(deadline_s, lease_s)
    return _applied(core, _launch(core, node, fault, deadline_s, lease_s, spec or {}), node, fault, deadline_s, lease_s)


def _launch(core: client.CoreV1Api, node: str, fault: str, deadline_s: float, lease_s: float, spec: dict) -> str:
    """The Lease (renewed from now on) and the agent pod; returns their name."""
    name = f"gameday-{fault}-{uuid.uuid4().hex[:6]}"
    leases = _leases(core)
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name=name, namespace=protocol.NAMESPACE, labels=protocol.LABELS,
                                     annotations={protocol.NODE: node, protocol.FAULT: fault,
                                                  protocol.SPEC: json.dumps(spec), protocol.STATE: protocol.STARTING}),
        spec=client.V1LeaseSpec(holder_identity=f"{socket.gethostname()}/{os.getpid()}",
                                lease_duration_seconds=int(lease_s), acquire_time=_micro_now(),
                                renew_time=_micro_now()))
    leases.create_namespaced_lease(protocol.NAMESPACE, lease)
    RENEWALS.hold(name, leases, lease_s)
    core.create_namespaced_pod(protocol.NAMESPACE, _agent_pod(name, node, fault, deadline_s, lease_s, spec))
    return name


def _applied(core: client.CoreV1Api, name: str, node: str, fault: str, deadline_s: float, lease_s: float) -> dict:
    """Waits until agent `name` says its fault is applied; if it refused or ended, removes it and
    raises RuntimeError saying why."""
    reached, seen, waited = poll(lambda: _started(core, name), START_TIMEOUT_S, f"agent {name} on {node} to apply {fault}")
    state, reason = seen if isinstance(seen, tuple) else ("unknown", str(seen))
    if state != protocol.APPLIED:
        _remove(core, name)
        raise RuntimeError(f"{fault} on {node}: the node agent {state}" + (f": {reason}" if reason else
                           f" after {waited:.0f} s") + " (nothing is left applied)")
    log.info("%s applied on %s by agent %s (reverts by itself in %.0f s, or %.0f s after losing its lease)",
             fault, node, name, deadline_s, lease_s)
    return {"node": node, "fault": fault, "agent": name, "applied_at": _annotations(core, name).get(protocol.APPLIED_AT)}


def _annotations(core: client.CoreV1Api, name: str) -> dict:
    return _leases(core).read_namespaced_lease(name, protocol.NAMESPACE).metadata.annotations or {}


def _started(core: client.CoreV1Api, name: str) -> tuple[bool, tuple[str, str]]:
    notes = _annotations(core, name)
    state = notes.get(protocol.STATE, protocol.STARTING)
    if state == protocol.STARTING:
        pod = core.read_namespaced_pod(name, protocol.NAMESPACE)
        if pod.status.phase in ("Failed", "Succeeded"):
            return True, ("ended", pod_message(pod))
        waiting = [s.state.waiting.reason for s in pod.status.container_statuses or [] if s.state.waiting]
        return False, (pod.status.phase, ", ".join(waiting))
    return True, (state, notes.get(protocol.REASON, ""))


def _remove(core: client.CoreV1Api, name: str) -> None:
    """Deletes the Lease, then the pod (and a cleanup agent's): either makes an agent still
    running revert (lease gone, SIGTERM)."""
    RENEWALS.release(name)
    for delete, named in ((_leases(core).delete_namespaced_lease, name), (core.delete_namespaced_pod, name),
                          (core.delete_namespaced_pod, name + protocol.CLEANUP_SUFFIX)):
        try:
            delete(named, protocol.NAMESPACE)
        except client.ApiException as err:
            if err.status != 404:
                raise


def on_nodes(target: Target, fault: str, deadline_s: float, lease_s: float, placed: list[tuple[str, dict]]) -> list[dict]:
    """One agent per (node, spec), all started before any is waited for (a zone's nodes fail
    together, not one agent start ~4 s after the other), and all or nothing: if one cannot apply,
    the others are asked to revert (a zone half-failed is not the experiment asked for)."""
    check_bounds(deadline_s, lease_s)
    core = core_api(target.context)
    launched: list[tuple[str, str]] = []  # (node, agent)
    try:
        for node, spec in placed:
            launched.append((node, _launch(core, node, fault, deadline_s, lease_s, spec)))
        return [_applied(core, name, node, fault, deadline_s, lease_s) for node, name in launched]
    except Exception:
        for _, name in launched:  # the rest, applied or not yet, revert (a refused one is gone already)
            try:
                _request_revert(core, name)
            except API_ERRORS as err:
                if not (isinstance(err, client.ApiException) and err.status == 404):
                    log.warning("agent %s: revert not asked for (%s); the rollback or gameday cleanup finds it",
                                name, err)
        raise


def _selected(target: Target, fault: str, pods_label_selector: str, ns: str, nodes: list[str] | None, zone: str,
              deadline_s: float, lease_s: float, **_) -> list[str]:
    """The nodes a host fault with these arguments hits (the dry run's and the action's); its bounds checked first."""
    check_bounds(deadline_s, lease_s)
    return select_nodes_to_stop(core_api(target.context), target, pods_label_selector, ns or target.namespace, nodes,
                                zone, fault=fault)


def bounds_said(a: dict) -> str:
    return f"reverts by itself after {a['deadline_s']:.0f} s, or {a['lease_s']:.0f} s after the runner stops renewing its lease"


# ---- the kubelet stopped: the node NotReady while its containers run on ----

def _plan_kubelet_stop(a: dict, target: Target) -> list[str]:
    core = core_api(target.context)
    return [f"stop the kubelet of node {node} through a node agent ({bounds_said(a)}); its pods go on running "
            "unwatched: " + ", ".join(pod_names_on(core, node)) for node in _selected(target, "kubelet stop", **a)]


@planned(_plan_kubelet_stop)
def stop_kubelet(pods_label_selector: str = "", ns: str = "", nodes: list[str] | None = None, zone: str = "",
                 deadline_s: float = 600, lease_s: float = 15, configuration: dict | None = None) -> dict:
    """Stops the kubelet of `nodes`, or every worker of `zone`, or else the busiest worker for the
    selector, each through a node agent: the node turns NotReady and its pods are evicted as their
    tolerations say, while its containers keep running. Any cluster whose nodes run systemd; no
    docker, no cloud credentials. Returns the nodes, their agents and when each applied."""
    target = Target.of(configuration)
    nodes = _selected(target, "kubelet stop", pods_label_selector, ns, nodes, zone, deadline_s, lease_s)
    agents = on_nodes(target, "kubelet-stop", deadline_s, lease_s, [(node, {}) for node in nodes])
    return {"nodes": nodes, "zone": zone, "stopped_at": datetime.now(timezone.utc).isoformat(), "agents": agents,
            "deadline_s": deadline_s, "lease_s": lease_s}


# ---- the node partitioned: cut off from the API servers (and the other nodes), its pods running ----

def api_servers(core: client.CoreV1Api) -> list[list]:
    """[ip, port] of every API server, from the `kubernetes` Service's EndpointSlice: where the
    nodes' kubelets and the pods' in-cluster clients go."""
    slice_ = client.DiscoveryV1Api(core.api_client).read_namespaced_endpoint_slice("kubernetes", "default")
    port = next((p.port for p in slice_.ports or [] if p.name == "https"), 443)
    return [[address, port] for endpoint in slice_.endpoints or [] for address in endpoint.addresses]


def peers_of(core: client.CoreV1Api, node: str, servers: list[list]) -> list[str]:
    """The other nodes' addresses and pod CIDRs, but the API servers' (cut, or not, by themselves)."""
    server_ips = {ip for ip, _ in servers}
    peers = []
    for other in core.list_node(label_selector=NOT_SIMULATED).items:  # a simulated one has no traffic to cut
        if other.metadata.name == node:
            continue
        peers += [a.address for a in other.status.addresses or [] if a.type == "InternalIP" and a.address not in server_ips]
        peers += list(other.spec.pod_cidrs or ([other.spec.pod_cidr] if other.spec.pod_cidr else []))
    return peers


def partition_spec(core: client.CoreV1Api, node: str, peers: bool) -> dict:
    """What a node-partition agent needs: the API servers to cut the node off from, and the peers."""
    servers = api_servers(core)
    return {"api_servers": servers, "peers": peers_of(core, node, servers) if peers else []}


def _plan_partition(a: dict, target: Target) -> list[str]:
    core = core_api(target.context)
    servers = ", ".join(f"{ip}:{port}" for ip, port in api_servers(core))
    return [f"cut node {node} off from the API server ({servers})" + (" and every other node" if a["peers"] else "")
            + f" through a node agent ({bounds_said(a)}); its pods go on running, unreachable: "
            + ", ".join(pod_names_on(core, node)) for node in _selected(target, "node partition", **a)]


@planned(_plan_partition)
def partition_node(pods_label_selector: str = "", ns: str = "", nodes: list[str] | None = None, zone: str = "",
                   peers: bool = False, deadline_s: float = 600, lease_s: float = 15,
                   configuration: dict | None = None) -> dict:
    """Cuts `nodes`, or every worker of `zone`, or else the busiest worker for the selector, off
    from the API servers (iptables DROP on the node, both ways), and with `peers` from every other
    node and its pods too: the node turns NotReady while its pods keep running, unreachable (the
    split-brain case). The node agent's own traffic is exempt, so it still reverts at its
    deadline or when its lease is lost. Returns the nodes, their agents and when each applied."""
    target = Target.of(configuration)
    nodes = _selected(target, "node partition", pods_label_selector, ns, nodes, zone, deadline_s, lease_s)
    core = core_api(target.context)
    agents = on_nodes(target, "node-partition", deadline_s, lease_s,
                       [(node, partition_spec(core, node, peers)) for node in nodes])
    return {"nodes": nodes, "zone": zone, "partitioned_at": datetime.now(timezone.utc).isoformat(), "agents": agents,
            "peers": peers, "deadline_s": deadline_s, "lease_s": lease_s}


# ---- the undo ----

def agent_faults(core: client.CoreV1Api) -> list[client.V1Lease]:
    """The Leases of agents still there: each a fault that may be in place."""
    return _leases(core).list_namespaced_lease(protocol.NAMESPACE, label_selector=protocol.LABEL).items


def agents_in_place(core: client.CoreV1Api) -> list[str]:
    """One line per node agent still there (for the leftovers): its fault, node and state."""
    lines = []
    for lease in agent_faults(core):
        notes = lease.metadata.annotations or {}
        lines.append(f"{notes.get(protocol.FAULT, '?')} on node {notes.get(protocol.NODE, '?')} by node agent "
                     f"{lease.metadata.name} ({notes.get(protocol.STATE, '?')})")
    return lines


def _request_revert(core: client.CoreV1Api, name: str) -> None:
    _leases(core).patch_namespaced_lease(name, protocol.NAMESPACE,
                                         {"metadata": {"annotations": {protocol.REVERT: _micro_now().isoformat()}}})


def _agent(core: client.CoreV1Api, name: str) -> client.V1Pod | None:
    try:
        return core.read_namespaced_pod(name, protocol.NAMESPACE)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def _running(pod: client.V1Pod | None) -> bool:
    return pod is not None and pod.status.phase in ("Pending", "Running")  # deleted, it still reverts


def _start_cleanup_agent(core: client.CoreV1Api, lease: client.V1Lease) -> None:
    """An agent that only reverts, on the fault's node, for a fault whose own agent is gone (its
    process killed, its pod force-deleted) and may have left it applied: the Lease keeps the spec."""
    notes = lease.metadata.annotations or {}
    spec = json.loads(notes.get(protocol.SPEC) or "{}")
    log.warning("node agent %s is gone with its fault %s (%s): starting a cleanup agent on %s", lease.metadata.name,
                notes.get(protocol.FAULT), notes.get(protocol.STATE, protocol.STARTING), notes.get(protocol.NODE))
    try:
        core.create_namespaced_pod(protocol.NAMESPACE, _agent_pod(lease.metadata.name, notes.get(protocol.NODE),
                                                                  notes.get(protocol.FAULT), 0, 0, spec, True))
    except client.ApiException as err:
        if err.status != 409:  # one is there already (an earlier cleanup)
            raise


def _reverted(core: client.CoreV1Api, name: str) -> tuple[bool, str]:
    """Whether the fault of Lease `name` is reverted; when no agent of it runs any more and it may
    be in place, starts a cleanup agent (once) to revert it."""
    lease = _leases(core).read_namespaced_lease(name, protocol.NAMESPACE)
    state = (lease.metadata.annotations or {}).get(protocol.STATE, protocol.STARTING)
    if state in protocol.ENDED:
        return True, state
    agent, cleanup = _agent(core, name), _agent(core, name + protocol.CLEANUP_SUFFIX)
    if _running(agent) or _running(cleanup):
        return False, f"{state} ({(cleanup or agent).status.phase})"
    if cleanup is not None:
        return False, f"{state}, its cleanup agent ended: {pod_message(cleanup) or cleanup.status.phase}"
    _start_cleanup_agent(core, lease)
    return False, f"{state}, agent pod {'gone' if agent is None else agent.status.phase}: a cleanup agent reverts it"


def revert_agent_faults(configuration: dict | None = None) -> list[dict]:
    """Rollback: asks every node agent to revert its fault, waits until each says it did and its
    node is Ready again, then removes the agents. Raises if one did not revert."""
    core = core_api(Target.of(configuration).context)
    done, failed = [], []
    for lease in agent_faults(core):
        name, notes = lease.metadata.name, lease.metadata.annotations or {}
        node, fault = notes.get(protocol.NODE, "?"), notes.get(protocol.FAULT, "?")
        if notes.get(protocol.STATE) not in protocol.ENDED:
            _request_revert(core, name)  # to its agent; if that is gone, _reverted starts a cleanup agent
        reverted, state, _ = poll(lambda: _reverted(core, name), REVERT_TIMEOUT_S, f"agent {name} to revert {fault} on {node}")
        if not reverted:
            failed.append(f"{fault} on {node}: agent {name} {state}")
            continue
        ready, _, waited = poll(lambda: (node_ready(core, node), None), REVERT_TIMEOUT_S, f"node {node} Ready")
        if not ready:
            failed.append(f"{fault} on {node}: reverted, yet the node not Ready after {REVERT_TIMEOUT_S} s")
            continue
        _remove(core, name)
        log.info("reverted %s on %s (agent %s); node Ready after %.0f s", fault, node, name, waited)
        done.append({"node": node, "fault": fault, "agent": name, "state": state})
    if failed:
        raise RuntimeError("not reverted, left in place for `gameday cleanup`: " + "; ".join(failed))
    return done
