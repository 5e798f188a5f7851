"""A scaled copy of the stack on the simulated nodes (core.simulated): every Deployment of the
stack's namespace, `copies` times, at `replicas` each, with its pods' requests (or the ones the
experiment names), its spreads and anti-affinity, and its PodDisruptionBudgets at the same
fraction of its replicas. The copy lives in its own namespace, `<namespace>-scaled`, which the
suite creates, labels and deletes: a big cluster's scheduling (a zone lost, capacity, spreads,
budgets) asked of the stack's own shapes, with nothing real running.

What a copy keeps of a pod: its containers' names, images and resources, its spread constraints
and affinity (their label selectors pointed at the copy's own pods), nothing that needs the
source namespace (env, volumes, service account).

Sized for a target instead (capacity_run, target_rps): one copy of each Deployment, at the
replicas a step-load run's capacity model says the target rate needs with a zone lost
(core.sizing), with its own pods' requests (the model's requests/s per replica are at those);
a Deployment the model left out keeps the source's replicas."""

import copy
import logging
import math

from kubernetes import client

from core.plans import planned
from core.simulated import COPY_OF, SIMULATED_LABEL, SIMULATED_ZONES, TOLERATION, scaled_namespace
from core.sizing import replicas_at_target
from core.target import Target
from edge.kube import api_client, apps_api, core_api
from edge.poll import poll
from edge.rundir import RunDirError, capacity_run as capacity_run_of

log = logging.getLogger("chaostoolkit")


def _own_selector(node, app: str):
    """`node` (an affinity or a spread constraint, as plain data) with every labelSelector
    replaced by one for the copy's pods."""
    if isinstance(node, dict):
        return {k: ({"matchLabels": {"app": app}} if k == "labelSelector" else _own_selector(v, app))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_own_selector(v, app) for v in node]
    return node


def copied_deployment(source: dict, index: int, replicas: int, requests: dict | None) -> dict:
    """The `index`th copy of the Deployment `source` (plain data, as the API serves it)."""
    name = f"{source['metadata']['name']}-x{index:02d}"
    spec = source["spec"]["template"]["spec"]
    containers = []
    for c in spec["containers"]:
        resources = copy.deepcopy(c.get("resources") or {})
        if requests:
            resources = {"requests": dict(requests)}   # limits below new requests would be refused
        containers.append({"name": c["name"], "image": c["image"], "resources": resources})
    pod_spec = {"containers": containers, "automountServiceAccountToken": False,
                "nodeSelector": {SIMULATED_LABEL: "fake"}, "tolerations": [TOLERATION]}
    for key in ("affinity", "topologySpreadConstraints"):
        if spec.get(key):
            pod_spec[key] = _own_selector(spec[key], name)
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {**labels, COPY_OF: source["metadata"]["name"]}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}


def _fraction(value, replicas: int) -> str:
    """A budget's minAvailable/maxUnavailable as a percentage of the source's replicas (rounded
    down: the copy's budget is never stricter than the source's)."""
    if isinstance(value, str) and value.endswith("%"):
        return value
    return f"{math.floor(100 * int(value) / max(replicas, 1))}%"


def copied_budget(source: dict, deployment: dict, replicas_of_source: int) -> dict:
    """The PodDisruptionBudget `source` (plain data) over the copy `deployment`."""
    spec = {"selector": {"matchLabels": deployment["spec"]["selector"]["matchLabels"]}}
    for key in ("minAvailable", "maxUnavailable"):
        if source["spec"].get(key) is not None:
            spec[key] = _fraction(source["spec"][key], replicas_of_source)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": f"{deployment['metadata']['name']}-{source['metadata']['name']}"}, "spec": spec}


def selects(budget: dict, labels: dict) -> bool:
    wanted = (budget["spec"].get("selector") or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def scaled_copy(deployments: list[dict], budgets: list[dict], copies: int, replicas: int | dict[str, int],
                requests: dict | None = None) -> list[dict]:
    """The copy's objects: each Deployment `copies` times, each with the budgets that select the
    source's pods. replicas: each copy's, or per source Deployment's name (one not named keeps its own)."""
    objects = []
    for source in deployments:
        pod_labels = source["spec"]["template"]["metadata"].get("labels") or {}
        own = source["spec"].get("replicas") or 1
        count = replicas if isinstance(replicas, int) else replicas.get(source["metadata"]["name"], own)
        for index in range(copies):
            deployment = copied_deployment(source, index, count, requests)
            objects.append(deployment)
            objects += [copied_budget(b, deployment, source["spec"].get("replicas") or 1)
                        for b in budgets if selects(b, pod_labels)]
    return objects


def _create_namespace(core: client.CoreV1Api, name: str, source: str) -> None:
    try:
        found = core.read_namespace(name)
    except client.ApiException as err:
        if err.status != 404:
            raise
        core.create_namespace({"metadata": {"name": name, "labels": {COPY_OF: source}}})
        return
    if (found.metadata.labels or {}).get(COPY_OF) != source:
        raise PermissionError(f"namespace {name!r} exists and is not a scaled copy the suite made of {source!r} "
                              f"(label {COPY_OF}): refusing to write into it")


def sized_for_target(capacity_run: str, namespace: str, target_rps: float, zones: int) -> tuple[dict[str, int], str]:
    """The replicas per Deployment the capacity model of `capacity_run` (a run's directory, or
    "latest" on `namespace`) gives `target_rps` with one of `zones` lost, and a line saying where
    they came from."""
    try:
        run = capacity_run_of(capacity_run, namespace)
    except RunDirError as err:  # bad input: a ValueError names the argument (a dry run says WOULD FAIL)
        raise ValueError(f"deploy_scaled_copy: capacity_run {capacity_run!r}: {err}") from err
    models = run.capacity_model["deployments"]
    sized = replicas_at_target(models, target_rps, zones)
    if not sized:
        raise ValueError(f"the capacity model of {run.path} sizes no Deployment: "
                         + "; ".join(f"{d}: {m.get('unloaded') or m.get('problem')}" for d, m in models.items()))
    per = ", ".join(f"{d} {n} ({models[d]['rps_per_replica']:.1f} req/s per replica)" for d, n in sized.items())
    return sized, (f"sized for {target_rps:g} requests/s with one of {zones} zones lost by the capacity model of "
                   f"{run.path}: {per}; any other at its own replicas")


def copy_sizes(a: dict) -> tuple[int | dict[str, int], str]:
    """deploy_scaled_copy's arguments `a` -> (the replicas: one count, or per Deployment; how they were sized)."""
    if not a.get("capacity_run"):
        return a["replicas"], f"{a['copies']} copies at {a['replicas']} replicas each"
    if a.get("requests"):
        raise ValueError("deploy_scaled_copy: requests cannot be set with capacity_run: the model's requests/s "
                         "per replica are at the source pods' own CPU request")
    try:
        target_rps = float(a.get("target_rps") or 0)   # a configuration value from the environment is a string
    except ValueError:
        target_rps = 0
    if target_rps <= 0:
        raise ValueError(f"deploy_scaled_copy: target_rps must be a rate > 0 with capacity_run (got {a.get('target_rps')!r})")
    return sized_for_target(a["capacity_run"], a["namespace"], target_rps, SIMULATED_ZONES)


def _plan_copy(a: dict, target: Target) -> list[str]:
    names = [d.metadata.name for d in apps_api(target.context).list_namespaced_deployment(target.namespace).items]
    sizes, how = copy_sizes({**a, "namespace": target.namespace})
    return [f"create namespace {scaled_namespace(target.namespace)}: each of {', '.join(names)} {how} "
            f"(requests {a.get('requests') or 'as the source'}) on the simulated nodes, with their PDBs"]


@planned(_plan_copy)
def deploy_scaled_copy(copies: int = 5, replicas: int = 50, requests: dict | None = None,
                       ready_timeout_s: float = 600, capacity_run: str = "", target_rps: float = 0,
                       configuration: dict | None = None) -> dict:
    """Creates the scaled copy of the stack's Deployments on the simulated nodes and waits until
    every replica is available. Returns what it made. With capacity_run and target_rps, one copy
    sized for the target (the module's doc)."""
    target = Target.of(configuration)
    sizes, how = copy_sizes({"copies": copies, "replicas": replicas, "requests": requests,
                             "capacity_run": capacity_run, "target_rps": target_rps, "namespace": target.namespace})
    copies = 1 if capacity_run else copies
    api, ns = api_client(target.context), target.namespace
    plain = api.sanitize_for_serialization
    deployments = [plain(d) for d in apps_api(target.context).list_namespaced_deployment(ns).items]
    budgets = [plain(b) for b in client.PolicyV1Api(api).list_namespaced_pod_disruption_budget(ns).items]
    if not deployments:
        raise RuntimeError(f"no Deployment in namespace {ns!r} to copy")
    into = scaled_namespace(ns)
    _create_namespace(core_api(target.context), into, ns)
    objects = scaled_copy(deployments, budgets, copies, sizes, requests)
    for obj in objects:
        _apply(api, into, obj)
    made = [o for o in objects if o["kind"] == "Deployment"]
    wanted = sum(d["spec"]["replicas"] for d in made)
    log.info("scaled copy: %d Deployments, %d replicas (%s), %d PDBs in %s; waiting until available",
             len(made), wanted, how, len(objects) - len(made), into)
    apps = apps_api(target.context)

    def check():
        available = sum(d.status.available_replicas or 0 for d in apps.list_namespaced_deployment(into).items)
        return available >= wanted, f"{available} of {wanted} replicas available"
    ready, seen, waited = poll(check, ready_timeout_s, f"the scaled copy's {wanted} replicas available")
    if not ready:
        raise RuntimeError(f"scaled copy not available after {ready_timeout_s:.0f} s: {seen} "
                           f"(simulated nodes Ready? make cluster KWOK_NODES=N)")
    return {"namespace": into, "deployments": len(made), "pods": wanted, "sized": how,
            "target_rps": float(target_rps) if capacity_run else None,
            "replicas": {d["metadata"]["name"]: d["spec"]["replicas"] for d in made},
            "budgets": len(objects) - len(made), "available_after_s": waited}


def _apply(api: client.ApiClient, ns: str, obj: dict) -> None:
    """Creates `obj`, or patches the one of that name (a copy made before, by another run)."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    apps, policy = client.AppsV1Api(api), client.PolicyV1Api(api)
    create, patch = {"Deployment": (apps.create_namespaced_deployment, apps.patch_namespaced_deployment),
                     "PodDisruptionBudget": (policy.create_namespaced_pod_disruption_budget,
                                             policy.patch_namespaced_pod_disruption_budget)}[kind]
    try:
        create(ns, obj)
    except client.ApiException as err:
        if err.status != 409:
            raise
        patch(name, ns, obj)


def scaled_copies(core: client.CoreV1Api) -> list[str]:
    """The namespaces the suite made for scaled copies and has not deleted (or is deleting)."""
    return sorted(n.metadata.name for n in core.list_namespace(label_selector=COPY_OF).items
                  if n.metadata.deletion_timestamp is None)


def delete_scaled_copy(gone_timeout_s: float = 300, configuration: dict | None = None) -> dict:
    """Rollback: deletes every scaled-copy namespace the suite made, waiting until each is gone."""
    core = core_api(Target.of(configuration).context)
    doomed = scaled_copies(core)
    for ns in doomed:
        core.delete_namespace(ns)
        log.info("deleting scaled copy %s", ns)

    def check():
        left = sorted(n.metadata.name for n in core.list_namespace(label_selector=COPY_OF).items)
        return not left, left
    gone, left, waited = poll(check, gone_timeout_s, "the scaled copies' namespaces gone")
    if not gone:
        raise RuntimeError(f"scaled copies not gone after {gone_timeout_s:.0f} s: {left}")
    return {"deleted": doomed, "gone_after_s": waited}
