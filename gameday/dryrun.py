"""`gameday run --dry-run`: what a game day would do, resolved against the live cluster with
reads only: which pods a kill would pick from, which node a drain or a stop would hit (and the
pods on it, the budgets guarding them), which Deployment a change would touch and how, what the
rollbacks would find to undo now. Nothing is written to the cluster and no load is sent.

Each suite action has a describer here; any other activity is shown as the call it would make.
"""

from chaoslib import substitute  # resolves ${...} exactly as `chaos run` will
from kubernetes import client

from actions.leftovers import leftovers
from actions.nodes import busiest_worker, check_node_may_fail, nodes_to_stop, pods_on
from core.faults import UNDOS
from edge.kube import apps_api, core_api
from edge.stack import Stack


def _pods_on(core: client.CoreV1Api, node: str) -> list[str]:
    return sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods_on(core, node))


def _budgets(core: client.CoreV1Api, ns: str) -> str:
    pdbs = client.PolicyV1Api(core.api_client).list_namespaced_pod_disruption_budget(ns).items
    return ", ".join(f"{p.metadata.name} allows {p.status.disruptions_allowed}" for p in pdbs) or "none"


def drain_node(core, apps, pods_label_selector="app=core-api", ns="gameday", node="", **_) -> list[str]:
    node = node or busiest_worker(core, pods_label_selector, ns)
    check_node_may_fail(core, node, "drain")
    pods = _pods_on(core, node)
    return [f"cordon {node} and evict its {len(pods)} pod(s) through the Eviction API: {', '.join(pods)}",
            f"PodDisruptionBudgets in {ns} now: {_budgets(core, ns)}"]


def stop_nodes(core, apps, pods_label_selector="app=core-api", ns="gameday", nodes=None, zone="", **_) -> list[str]:
    lines = []
    for node in nodes_to_stop(core, pods_label_selector, ns, nodes, zone):
        check_node_may_fail(core, node, "node stop")
        lines.append(f"stop the container of node {node}{f' (zone {zone})' if zone else ''}, taking down: "
                     f"{', '.join(_pods_on(core, node))}")
    return lines


def terminate_pods(core, apps, label_selector=None, ns="default", qty=1, all=False, rand=False, **_) -> list[str]:
    pods = sorted(p.metadata.name for p in core.list_namespaced_pod(ns, label_selector=label_selector).items)
    count = len(pods) if all else min(int(qty), len(pods))
    pick = "at random" if rand else "in alphabetical order"
    return [f"delete {count} of the {len(pods)} pod(s) matching {label_selector!r} in {ns}, {pick}: {', '.join(pods)}"]


def _deployment(apps, name: str, ns: str) -> client.V1Deployment:
    return apps.read_namespaced_deployment(name, ns)


def scale_to(core, apps, deployment, replicas, ns="gameday", **_) -> list[str]:
    return [f"scale {ns}/{deployment} from {_deployment(apps, deployment, ns).spec.replicas} to {replicas} "
            "(saving the count for the rollback)"]


def set_container_env(core, apps, deployment, env, ns="gameday", container="", **_) -> list[str]:
    d = _deployment(apps, deployment, ns)
    target = container or d.spec.template.spec.containers[0].name
    return [f"set {', '.join(f'{k}={v}' for k, v in env.items())} on container {target} of {ns}/{deployment}, "
            f"replacing its {d.status.replicas or 0} pod(s) (saving the template for the rollback)"]


def rollout_restart(core, apps, deployment, ns="gameday", **_) -> list[str]:
    d = _deployment(apps, deployment, ns)
    return [f"restart the rollout of {ns}/{deployment}: its {d.status.replicas or 0} pod(s) replaced by its strategy"]


DESCRIBERS = {"drain_node": drain_node, "stop_nodes": stop_nodes, "terminate_pods": terminate_pods,
              "scale_to": scale_to, "set_container_env": set_container_env, "rollout_restart": rollout_restart}


def configuration(experiment: dict, env: dict[str, str]) -> dict:
    """The experiment's configuration as `chaos run` would resolve it in this environment."""
    resolved = {}
    for key, value in (experiment.get("configuration") or {}).items():
        if isinstance(value, dict) and value.get("type") == "env":
            resolved[key] = env.get(value["key"], value.get("default"))
        else:
            resolved[key] = value
    return resolved


def describe(activity: dict, config: dict, core, apps, stack: Stack) -> list[str]:
    provider = activity.get("provider") or {}
    arguments = substitute(provider.get("arguments") or {}, config, {})
    func = provider.get("func", "")
    if func in DESCRIBERS:
        try:
            return DESCRIBERS[func](core, apps, **arguments)
        except PermissionError as err:
            return [f"REFUSED: {err}"]
    if func in UNDOS:
        left = leftovers(stack)
        return [f"{UNDOS[func].undoing} (left by an earlier run, now: {'; '.join(left) if left else 'nothing'})"]
    if provider.get("type") == "python":
        return [f"call {provider.get('module')}.{func}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"]
    return [f"{provider.get('type', '?')}: {provider.get('path') or provider.get('url') or provider}"]


def plan(experiment: dict, source: str, stack: Stack, env: dict[str, str], profile: str) -> list[str]:
    """The lines of a dry run, in the order the game day would act."""
    core, apps = core_api(stack.kube_context), apps_api(stack.kube_context)
    config = configuration(experiment, env)
    lines = [f"dry run of {source}: {experiment.get('title', '')}",
             f"target: context {stack.kube_context}, namespace {stack.namespace} (stack {stack.source})",
             f"load: {profile} at {stack.entry_url}"]
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for part, activities in (("steady state (before and after)", hypothesis.get("probes") or []),
                             ("method", experiment.get("method") or []), ("rollbacks", experiment.get("rollbacks") or [])):
        lines.append(f"{part}:" if activities else f"{part}: none")
        for activity in activities:
            pauses = activity.get("pauses") or {}
            wait = "".join(f", then wait {v} s" if k == "after" else f" (after waiting {v} s)" for k, v in pauses.items())
            lines.append(f"  {activity.get('type', '?')} {activity.get('name', '?')}{wait}:")
            lines += [f"    {line}" for line in describe(activity, config, core, apps, stack)]
    return lines
