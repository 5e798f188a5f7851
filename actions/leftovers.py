"""What the suite's faults left on a cluster, found by the markers each action leaves: nodes it
cordoned, kind node containers it stopped, simulated nodes it cut off, scaled copies of the stack
it made, Deployments it changed, node agents still there, load worker pods of an in-cluster
runner that died before deleting them.
After every game day, rolled back or interrupted, this must be empty; `gameday cleanup` undoes whatever is there with every
undo core.faults declares, the same rollbacks the experiments use (no journal needed)."""

import importlib
import json

from kubernetes import client

from actions.agents import agents_in_place
from actions.deployments import changed_deployments
from actions.nodes import cordoned_nodes, is_kind, kind_cluster, stopped_node_containers
from actions.scaled_copy import scaled_copies
from actions.simulated import lost_zones
from core.agents import LOAD_WORKER_LABEL, NAMESPACE as AGENTS_NAMESPACE
from core.faults import UNDOS
from core.target import Target
from edge.kube import apps_api, core_api


def leftovers(target: Target) -> list[str]:
    """One line per thing the suite changed and did not undo."""
    core = core_api(target.context)
    found = [f"node {n} cordoned by the suite" for n in cordoned_nodes(core)]
    if is_kind(target.context):
        stopped = stopped_node_containers(kind_cluster(target.context))
        found += [f"node {n} stopped (its kind container)" for n in stopped]
    found += [f"{len(nodes)} simulated nodes of zone {zone} cut off by a zone-loss fault (not restored): "
              f"{', '.join(nodes[:3])}{' …' if len(nodes) > 3 else ''}" for zone, nodes in lost_zones(core).items()]
    found += [f"namespace {ns}: a scaled copy of the stack on simulated nodes (not deleted)" for ns in scaled_copies(core)]
    found += [f"deployment {target.namespace}/{d.metadata.name} changed by the suite (saved state not restored)"
              for d in changed_deployments(apps_api(target.context), target.namespace)]
    found += agents_in_place(core)
    found += [f"load worker pod {AGENTS_NAMESPACE}/{pod.metadata.name} ({pod.status.phase}), its runner gone"
              for pod in load_workers(core)]
    return found


def load_workers(core: client.CoreV1Api) -> list:
    """The in-cluster runner's Locust worker pods: it deletes them when its load ends, so any
    there after a game day (and not already being deleted) were left by a runner killed before it could."""
    return [pod for pod in core.list_namespaced_pod(AGENTS_NAMESPACE, label_selector=LOAD_WORKER_LABEL).items
            if pod.metadata.deletion_timestamp is None]


def cleanup(target: Target) -> list[str]:
    """Runs every undo the suite declares against the target; returns what each did."""
    done = []
    for undo in UNDOS.values():
        result = getattr(importlib.import_module(undo.module), undo.undo)(configuration=target.configuration())
        done.append(f"{undo.undo}: {json.dumps(result, default=str)}")
    core = core_api(target.context)
    for pod in load_workers(core):
        core.delete_namespaced_pod(pod.metadata.name, AGENTS_NAMESPACE)
        done.append(f"deleted load worker pod {AGENTS_NAMESPACE}/{pod.metadata.name}")
    return done
