"""What the suite's faults left on a cluster, found by the markers each action leaves: nodes it
cordoned, kind node containers it stopped, Deployments it changed. After every game day, rolled
back or interrupted, this must be empty; `gameday cleanup` undoes whatever is there, with the
same rollbacks the experiments use (no journal needed)."""

import os

from actions.deployments import changed_deployments, restore_deployments
from actions.nodes import cordoned_nodes, kind_cluster, start_stopped_nodes, stopped_node_containers, uncordon_drained_nodes
from edge.kube import apps_api, core_api
from edge.stack import Stack


def _kind(stack: Stack) -> str | None:
    return kind_cluster(stack.kube_context) if stack.kube_context.startswith("kind-") else None


def leftovers(stack: Stack) -> list[str]:
    """One line per thing the suite changed and did not undo."""
    found = [f"node {n} cordoned by the suite" for n in cordoned_nodes(core_api(stack.kube_context))]
    if cluster := _kind(stack):
        found += [f"node {n} stopped (its kind container)" for n in stopped_node_containers(cluster)]
    found += [f"deployment {stack.namespace}/{d.metadata.name} changed by the suite (saved state not restored)"
              for d in changed_deployments(apps_api(stack.kube_context), stack.namespace)]
    return found


def cleanup(stack: Stack) -> list[str]:
    """Runs every rollback the suite has against the stack; returns what each did."""
    os.environ["GAMEDAY_STACK"] = str(stack.source)  # the actions resolve their context from it
    done = [f"uncordoned {n}" for n in uncordon_drained_nodes()]
    if _kind(stack):
        done += [f"started {n}" for n in start_stopped_nodes()["nodes"]]
    done += [f"restored {r['deployment']}" for r in restore_deployments(stack.namespace)]
    return done
