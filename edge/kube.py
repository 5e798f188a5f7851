"""The Kubernetes client every action and probe uses, for the context its caller names (the
game day's target, core.target), never whatever the kubeconfig's current context happens to be.
The context `in-cluster` is the pod's own ServiceAccount: the suite running inside the cluster
it tests (deploy/runner)."""

from dataclasses import dataclass
from typing import NamedTuple

import orjson
import urllib3
from kubernetes import client, config

from core.simulated import NOT_SIMULATED
from core.weak_spots import Namespace

IN_CLUSTER = "in-cluster"
# (connect, read) seconds: the client's default is no timeout at all, and a frozen API server would
# hold a game day, its rollbacks included, forever. Calls are short; a watch passes a timeout of its
# own (the sampler's). poll() retries a timed-out call as a transient error.
REQUEST_TIMEOUT_S = (5.0, 30.0)
# what a call may raise when the API cannot answer: refused, timed out, or an error status
API_ERRORS = (client.ApiException, urllib3.exceptions.HTTPError, OSError)


class TimedApiClient(client.ApiClient):
    """An ApiClient whose every call times out, unless its caller sets a timeout of its own."""

    def call_api(self, *args, _request_timeout=None, **kwargs):
        return super().call_api(*args, _request_timeout=_request_timeout or REQUEST_TIMEOUT_S, **kwargs)


def api_client(context: str) -> client.ApiClient:
    """Raises config.ConfigException for a context the kubeconfig lacks (or `in-cluster` outside a pod)."""
    configuration = client.Configuration()
    if context == IN_CLUSTER:
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(context=context, client_configuration=configuration)
    return TimedApiClient(configuration)


def core_api(context: str) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(context))


def apps_api(context: str) -> client.AppsV1Api:
    return client.AppsV1Api(api_client(context))


def autoscaling_api(context: str) -> client.AutoscalingV2Api:
    return client.AutoscalingV2Api(api_client(context))


def list_json(call, *args, **kwargs) -> dict:
    """A list call's answer as the API serves it ({"items": [...], "metadata": {...}}): parsed as
    JSON, never made into the client's objects (ten thousand pods would take seconds)."""
    return orjson.loads(call(*args, _preload_content=False, **kwargs).data)


def read_namespace(context: str, ns: str) -> Namespace:
    """The objects core.weak_spots reads, as the API serves them (dicts, camelCase, `kind` set)."""
    api = api_client(context)
    apps = client.AppsV1Api(api)
    def listed(call, kind: str) -> list[dict]:
        return [{**item, "kind": kind} for item in list_json(call, ns)["items"]]
    return Namespace(
        workloads=listed(apps.list_namespaced_deployment, "Deployment") + listed(apps.list_namespaced_stateful_set, "StatefulSet"),
        pods=listed(client.CoreV1Api(api).list_namespaced_pod, "Pod"),
        pdbs=listed(client.PolicyV1Api(api).list_namespaced_pod_disruption_budget, "PodDisruptionBudget"),
        hpas=listed(client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler, "HorizontalPodAutoscaler"))


def current_context() -> str:
    """The kubeconfig's current context (what kubectl would use): `gameday init`'s default only."""
    return config.list_kube_config_contexts()[1]["name"]


def read_entry_points(context: str, ns: str) -> tuple[list[dict], list[dict]]:
    """The namespace's Services and Ingresses, as the API serves them; ApiException 404 when the
    namespace does not exist."""
    api = api_client(context)
    client.CoreV1Api(api).read_namespace(ns)
    plain = api.sanitize_for_serialization
    return ([plain(s) for s in client.CoreV1Api(api).list_namespaced_service(ns).items],
            [plain(i) for i in client.NetworkingV1Api(api).list_namespaced_ingress(ns).items])


def worker_zones(context: str) -> dict[str, str]:
    """{node: zone} of the schedulable (non-control-plane) machines, simulated nodes left out; a
    node without the zone label is its own zone."""
    nodes = core_api(context).list_node(label_selector=f"!node-role.kubernetes.io/control-plane,{NOT_SIMULATED}").items
    return {n.metadata.name: n.metadata.labels.get("topology.kubernetes.io/zone", n.metadata.name) for n in nodes}


# the kinds a stack file names, and how to read one of them
READERS = {
    "deployment": lambda api, name, ns: client.AppsV1Api(api).read_namespaced_deployment(name, ns),
    "hpa": lambda api, name, ns: client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler(name, ns),
    "pdb": lambda api, name, ns: client.PolicyV1Api(api).read_namespaced_pod_disruption_budget(name, ns),
    "service": lambda api, name, ns: client.CoreV1Api(api).read_namespaced_service(name, ns)}


def missing(context: str, namespace: str, wanted: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (kind, name) of `wanted` the API says are not there (404); any other error is raised:
    "cannot tell" is not "absent"."""
    api, gone = api_client(context), []
    for kind, name in wanted:
        try:
            READERS[kind](api, name, namespace)
        except client.ApiException as err:
            if err.status != 404:
                raise
            gone.append((kind, name))
    return gone


# ---- pods and selectors as the API gives them ----

def node_is_ready(node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status and node.status.conditions) or [])


def node_back(node) -> bool:
    """Ready, and no longer tainted by the node lifecycle controller (unreachable, not-ready)."""
    return node_is_ready(node) and not any(t.key.startswith("node.kubernetes.io/") for t in node.spec.taints or [])


def pod_ready(pod) -> bool:
    if pod.metadata.deletion_timestamp is not None:
        return False  # terminating: the endpoints controller has already dropped it
    conditions = (pod.status and pod.status.conditions) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def matches(labels: dict, match_labels: dict) -> bool:
    """Whether a pod with these labels is one a selector of matchLabels selects."""
    return all(labels.get(k) == v for k, v in match_labels.items())


class PodSeen(NamedTuple):
    """What the sampler keeps of a pod: its labels, whether it is ready, its IP ("" before it has one)."""
    labels: dict
    ready: bool
    ip: str


def pod_seen(pod) -> PodSeen:
    return PodSeen(pod.metadata.labels or {}, pod_ready(pod), (pod.status and pod.status.pod_ip) or "")


def pod_seen_raw(pod: dict) -> PodSeen:
    """pod_seen of a pod as the API serves it (JSON, not the client's objects: a watch of ten
    thousand pods can afford no object per event)."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    ready = "deletionTimestamp" not in meta and condition_true(pod, "Ready")
    return PodSeen(meta.get("labels") or {}, ready, status.get("podIP") or "")


def condition_true(obj: dict, kind: str) -> bool:
    """Whether an object served as JSON (a pod, a node) has its condition `kind` True."""
    return any(c.get("type") == kind and c.get("status") == "True" for c in (obj.get("status") or {}).get("conditions") or [])


def ready_selected(obj, pods: list[PodSeen]) -> int:
    """Ready pods among those the Deployment's or PDB's matchLabels select."""
    selector = obj.spec.selector.match_labels or {}
    return sum(pod.ready for pod in pods if matches(pod.labels, selector))


def selector_string(selector) -> str:
    """A LabelSelector (matchLabels and matchExpressions) as the API's label_selector query, so the
    API server does the matching. An empty selector selects every pod of the namespace."""
    terms = [f"{k}={v}" for k, v in sorted((selector.match_labels or {}).items())]
    for expr in selector.match_expressions or []:
        values = ",".join(expr.values or [])
        terms.append({"In": f"{expr.key} in ({values})", "NotIn": f"{expr.key} notin ({values})",
                      "Exists": expr.key, "DoesNotExist": f"!{expr.key}"}[expr.operator])
    return ",".join(terms)


def pods_under_several_pdbs(core: client.CoreV1Api, ns: str) -> dict[str, list[str]]:
    """{ns/pod: [PDB, ...]} for each pod of `ns` that more than one PodDisruptionBudget selects: the
    Eviction API refuses to evict such a pod at all (HTTP 500), so no drain of its node completes."""
    budgets: dict[str, list[str]] = {}
    for pdb in client.PolicyV1Api(core.api_client).list_namespaced_pod_disruption_budget(ns).items:
        if pdb.spec.selector is None:
            continue  # policy/v1: a null selector selects nothing
        for pod in core.list_namespaced_pod(ns, label_selector=selector_string(pdb.spec.selector)).items:
            budgets.setdefault(f"{ns}/{pod.metadata.name}", []).append(pdb.metadata.name)
    return {pod: sorted(names) for pod, names in sorted(budgets.items()) if len(names) > 1}


def named_with_pdbs(several: dict[str, list[str]]) -> str:
    """pods_under_several_pdbs' result as one line: "ns/pod (pdb-a, pdb-b); ..."."""
    return "; ".join(f"{pod} ({', '.join(pdbs)})" for pod, pdbs in several.items())


# ---- a Service and what is behind it: where traffic to it goes (network faults, reachability) ----

@dataclass(frozen=True)
class Backend:
    address: str      # IPv4
    port: int         # the port the endpoint serves on (the Service port's target)
    port_name: str    # the Service port it serves ('' for an unnamed one)
    pod: str          # the endpoint's pod, or "endpoint" when it names none
    ready: bool


def read_service(core: client.CoreV1Api, ns: str, name: str) -> client.V1Service | None:
    """The Service, None if there is none."""
    try:
        return core.read_namespaced_service(name, ns)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def cluster_ipv4s(service: client.V1Service) -> list[str]:
    """The Service's IPv4 cluster IPs (none for a headless one)."""
    return [ip for ip in service.spec.cluster_ips or [] if ip and ip != "None" and ":" not in ip]


def tcp_ports(service: client.V1Service) -> list:
    return [p for p in service.spec.ports or [] if (p.protocol or "TCP") == "TCP"]


def service_backends(core: client.CoreV1Api, ns: str, name: str) -> list[Backend]:
    """Every IPv4 TCP endpoint of the Service's EndpointSlices, ready or not."""
    slices = client.DiscoveryV1Api(core.api_client).list_namespaced_endpoint_slice(
        ns, label_selector=f"kubernetes.io/service-name={name}").items
    return [Backend(address, port.port, port.name or "", endpoint.target_ref.name if endpoint.target_ref else "endpoint",
                    endpoint.conditions is None or endpoint.conditions.ready is not False)
            for s in slices if s.address_type == "IPv4" for port in s.ports or [] if (port.protocol or "TCP") == "TCP"
            for endpoint in s.endpoints or [] for address in endpoint.addresses]
