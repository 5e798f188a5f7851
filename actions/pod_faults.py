"""Pod faults through node agents (actions.agents, agent/): on the node of each pod they hit, an
agent puts the fault inside that pod alone, its own cgroups or its own network namespace, and
takes it away at its deadline, when its lease is lost, or on the rollback `revert_agent_faults`.

- stress_pods: CPU and memory pressure (stress-ng) charged to the pod's container.
- disturb_pod_network: packet loss, drops and delay to destinations (a Service's pods, addresses)
  in the pod's network, on any kernel; a delay of everything the pod sends and corruption by
  netem, where the node's kernel has it (refused otherwise).
"""

from datetime import datetime, timezone

from kubernetes import client

from actions.agents import bounds_said, check_bounds, on_nodes, revert_agent_faults  # noqa: F401 (their undo)
from actions.pods import named_by, select_pods
from core.plans import planned
from core.target import Target
from edge.kube import cluster_ipv4s, core_api, read_service, service_backends, tcp_ports


def running_pods(core: client.CoreV1Api, target: Target, label_selector: str, ns: str, qty: int,
                 fault: str, among: set[str] | None = None) -> list[client.V1Pod]:
    """The first `qty` running pods the selector matches (all with qty 0), of those named in
    `among` when given; LookupError if none."""
    pods, _ = select_pods(core, target, ns, label_selector, all=True, among=among)
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    if not running:
        named = f" among {', '.join(sorted(among))}" if among is not None else ""
        raise LookupError(f"no running pod in {ns} matches {label_selector!r}{named}: nothing to {fault}")
    return running[:qty or None]


# ---- pods stressed: CPU and memory pressure inside their own cgroups ----

def select_stressed(core: client.CoreV1Api, target: Target, label_selector: str, ns: str, qty: int, container: str,
                    cpu_workers: int, memory_mb: int, deadline_s: float, lease_s: float) -> list[tuple[client.V1Pod, str]]:
    """(pod, container ID) of the first `qty` running pods the selector matches (all with qty 0),
    their `container` (default: the first); ValueError on bounds or a stress of nothing."""
    check_bounds(deadline_s, lease_s)
    if not (isinstance(cpu_workers, int) and isinstance(memory_mb, int) and cpu_workers >= 0 and memory_mb >= 0
            and cpu_workers + memory_mb > 0):
        raise ValueError(f"cpu_workers ({cpu_workers!r}) and memory_mb ({memory_mb!r}): whole numbers ≥ 0, "
                         "one of them > 0 (a stress of nothing is no fault)")
    chosen = []
    for pod in running_pods(core, target, label_selector, ns, qty, "stress"):
        statuses = {s.name: s for s in pod.status.container_statuses or []}
        name = container or pod.spec.containers[0].name
        if name not in statuses or not statuses[name].container_id:
            raise LookupError(f"pod {ns}/{pod.metadata.name} has no running container {name!r}")
        chosen.append((pod, statuses[name].container_id.split("://", 1)[-1]))
    return chosen


def _plan_stress(a: dict, target: Target) -> list[str]:
    ns = a["ns"] or target.namespace
    what = ", ".join(filter(None, [a["cpu_workers"] and f"{a['cpu_workers']} CPU worker(s) at {a['cpu_load']} %",
                                   a["memory_mb"] and f"{a['memory_mb']} MiB held"]))
    return [f"stress pod {ns}/{pod.metadata.name} on node {pod.spec.node_name} through a node agent: {what} in its "
            f"cgroups ({bounds_said(a)})"
            for pod, _ in select_stressed(core_api(target.context), target, a["label_selector"], ns, a["qty"],
                                          a["container"], a["cpu_workers"], a["memory_mb"], a["deadline_s"],
                                          a["lease_s"])]


@planned(_plan_stress)
def stress_pods(label_selector: str = "", ns: str = "", qty: int = 1, container: str = "", cpu_workers: int = 1,
                cpu_load: int = 100, memory_mb: int = 0, deadline_s: float = 600, lease_s: float = 15,
                configuration: dict | None = None) -> dict:
    """Puts CPU (cpu_workers busy at cpu_load %) and memory (memory_mb held) pressure into the
    first `qty` running pods the selector matches (0: all), inside their `container`'s own
    cgroups: charged to the container, throttled by its limits, seen by its HPA. stress-ng, run
    by a node agent on each pod's node, stops at the deadline or when the lease is lost. Returns
    the pods, their agents and when each started."""
    target = Target.of(configuration)
    ns = ns or target.namespace
    core = core_api(target.context)
    chosen = select_stressed(core, target, label_selector, ns, qty, container, cpu_workers, memory_mb, deadline_s,
                             lease_s)
    spec = {"cpu_workers": cpu_workers, "cpu_load": cpu_load, "memory_mb": memory_mb, "timeout_s": deadline_s}
    agents = on_nodes(target, "pod-stress", deadline_s, lease_s,
                       [(pod.spec.node_name, {**spec, "container_id": cid}) for pod, cid in chosen])
    return {"pods": [pod.metadata.name for pod, _ in chosen], "stressed_at": datetime.now(timezone.utc).isoformat(),
            "agents": agents, **spec}


# ---- a pod's network disturbed: loss, drops, delay ----

def network_refusal(pod: client.V1Pod) -> str | None:
    """Why a network fault may not go into this pod: one on the node's own network would hit the node."""
    if pod.spec.host_network:
        return (f"pod {pod.metadata.namespace}/{pod.metadata.name} has no network namespace of its own "
                "(hostNetwork): a network fault there would hit its whole node")
    return None


def service_destinations(core: client.CoreV1Api, ns: str, service: str) -> list[str]:
    """"IP:PORT" of the Service's cluster IPs and of every endpoint behind it: inside a pod the
    packets still carry the cluster IP (the node translates it once they leave the pod), and a
    client may also reach the pods directly."""
    found = read_service(core, ns, service)
    if found is None:
        raise LookupError(f"Service {ns}/{service} does not exist: no traffic to disturb")
    fronts = [f"{ip}:{port.port}" for ip in cluster_ipv4s(found) for port in tcp_ports(found)]
    backs = [f"{b.address}:{b.port}" for b in service_backends(core, ns, service)]
    if not backs:
        raise LookupError(f"Service {ns}/{service} has no endpoint to disturb traffic to")
    return sorted(set(fronts + backs))


def pod_addresses(core: client.CoreV1Api, target: Target, ns: str, label_selector: str) -> list[str]:
    """The IPs of the running pods the selector matches; LookupError if none."""
    return sorted({p.status.pod_ip for p in running_pods(core, target, label_selector, ns, 0, "cut off")
                   if p.status.pod_ip})


def network_spec(loss_pct: float, drop_to: list[str], delay_ms: float, jitter_ms: float, delay_to: list[str],
                 corrupt_pct: float, egress_only: bool) -> dict:
    """The agent's spec, its numbers checked (ValueError): a disturbance of nothing is no fault."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (loss_pct, delay_ms, jitter_ms, corrupt_pct)):
        raise ValueError("loss_pct, delay_ms, jitter_ms and corrupt_pct are numbers")
    if not (0 <= loss_pct <= 100 and 0 <= corrupt_pct <= 100 and delay_ms >= 0 and 0 <= jitter_ms <= delay_ms):
        raise ValueError(f"loss_pct {loss_pct} and corrupt_pct {corrupt_pct} lie in 0-100, delay_ms {delay_ms} >= 0, "
                         f"jitter_ms {jitter_ms} in 0-delay_ms")
    if not (loss_pct or drop_to or delay_ms or corrupt_pct):
        raise ValueError("no loss_pct, drop_to, delay_ms or corrupt_pct: a disturbance of nothing is no fault")
    if delay_to and not delay_ms:
        raise ValueError(f"delay_to {', '.join(delay_to)} without delay_ms: a delay of nothing is no fault")
    return {"loss_pct": loss_pct, "drop_to": drop_to, "delay_ms": delay_ms, "jitter_ms": jitter_ms,
            "delay_to": delay_to, "corrupt_pct": corrupt_pct, "egress_only": egress_only}


def select_disturbed(core: client.CoreV1Api, target: Target, a: dict) -> tuple[list[client.V1Pod], dict]:
    """The pods a network fault with the action's arguments `a` hits, and the agents' spec; every
    refusal (bounds, numbers, a pod on the node's network, a Service without endpoints) first."""
    check_bounds(a["deadline_s"], a["lease_s"])
    ns = a["ns"] or target.namespace
    def destinations(listed: str, service: str) -> list[str]:
        return list(a[listed] or []) + (service_destinations(core, ns, a[service]) if a[service] else [])
    # every packet to the pods of drop_to_pods, whatever its port: both ways of each TCP connection
    peers = pod_addresses(core, target, ns, a["drop_to_pods"]) if a["drop_to_pods"] else []

    spec = network_spec(a["loss_pct"], destinations("drop_to", "drop_to_service") + peers, a["delay_ms"], a["jitter_ms"],
                        destinations("delay_to", "delay_to_service"), a["corrupt_pct"], a["egress_only"])
    pods = running_pods(core, target, a["label_selector"], ns, a["qty"], "disturb",
                        named_by(a["named_by_query"], a["prometheus_url"]))
    if refusals := [why for why in map(network_refusal, pods) if why]:
        raise PermissionError("; ".join(refusals))
    return pods, spec


def _plan_network(a: dict, target: Target) -> list[str]:
    pods, spec = select_disturbed(core_api(target.context), target, a)
    delay = f"{spec['delay_ms']:g} ms" + (f" ± {spec['jitter_ms']:g} ms" if spec["jitter_ms"] else "") + " delay"
    what = ", ".join(filter(None, [spec["loss_pct"] and f"{spec['loss_pct']} % of packets lost",
                                   spec["drop_to"] and f"traffic to {', '.join(spec['drop_to'])} dropped",
                                   spec["delay_ms"] and spec["delay_to"] and
                                   f"{delay} on TCP to {', '.join(spec['delay_to'])} (delay line)",
                                   spec["delay_ms"] and not spec["delay_to"] and f"{delay} (netem)",
                                   spec["corrupt_pct"] and f"{spec['corrupt_pct']} % corrupted (netem)"]))
    return [f"disturb the network of pod {p.metadata.namespace}/{p.metadata.name} on node {p.spec.node_name} through "
            f"a node agent: {what} ({bounds_said(a)})" for p in pods]


@planned(_plan_network)
def disturb_pod_network(label_selector: str = "", ns: str = "", qty: int = 1, loss_pct: float = 0,
                        drop_to_service: str = "", drop_to: list[str] | None = None, drop_to_pods: str = "",
                        delay_ms: float = 0, jitter_ms: float = 0, delay_to_service: str = "",
                        delay_to: list[str] | None = None,
                        corrupt_pct: float = 0, egress_only: bool = False, deadline_s: float = 600,
                        lease_s: float = 15, named_by_query: str = "", prometheus_url: str = "",
                        configuration: dict | None = None) -> dict:
    """Disturbs the network of the first `qty` running pods the selector matches (0: all), inside
    each pod's own network namespace: loss_pct of its packets lost (both ways unless
    egress_only), its traffic to drop_to ("ADDRESS[/BITS][:PORT]"), to the pods of the Service
    drop_to_service (its ports) and to the pods drop_to_pods selects (every port: cut off)
    dropped; delay_ms (± jitter_ms) on its TCP to delay_to and to the pods of delay_to_service (a delay line in the pod, any kernel: connections it had open there
    are reset once, new ones are delayed), or, with neither, on everything it sends (netem);
    corrupt_pct by netem. netem only where the node's kernel has it. named_by_query (PromQL, at
    prometheus_url) narrows the pods to those its `pod` label names. Returns the pods, their
    agents and when each started."""
    target = Target.of(configuration)
    core = core_api(target.context)
    pods, spec = select_disturbed(core, target, dict(
        label_selector=label_selector, ns=ns, qty=qty, loss_pct=loss_pct, drop_to_service=drop_to_service,
        drop_to=drop_to, drop_to_pods=drop_to_pods, delay_ms=delay_ms, jitter_ms=jitter_ms,
        delay_to_service=delay_to_service, delay_to=delay_to, corrupt_pct=corrupt_pct, egress_only=egress_only, deadline_s=deadline_s,
        lease_s=lease_s, named_by_query=named_by_query, prometheus_url=prometheus_url))
    agents = on_nodes(target, "pod-network", deadline_s, lease_s,
                      [(pod.spec.node_name, {**spec, "pod_uid": pod.metadata.uid}) for pod in pods])
    return {"pods": [pod.metadata.name for pod in pods], "disturbed_at": datetime.now(timezone.utc).isoformat(),
            "agents": agents, **spec}

