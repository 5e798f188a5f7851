"""A node failed by whichever means the target allows, so one experiment runs everywhere:

- `container-stop`: the kind node's container stopped (actions.nodes.stop_nodes): the machine
  gone, its containers with it. Only where this machine runs the kind cluster's nodes.
- `kubelet-stop`: the kubelet stopped by a node agent (actions.agents.stop_kubelet): the node
  NotReady while its containers run on. Any cluster whose nodes run systemd, from the host or
  from the in-cluster runner; it reverts by itself at its deadline or when its lease is lost.
- `auto` (the default): container-stop where docker here reaches the kind cluster's nodes, else
  kubelet-stop.

Experiments take the method from their configuration (`node_failure_method`, env
GAMEDAY_NODE_FAILURE): `GAMEDAY_NODE_FAILURE=kubelet-stop gameday run node-failure-failover`.
"""

import logging
import shutil
import subprocess
from datetime import datetime, timezone

from actions.agents import revert_agent_faults, stop_kubelet
from actions.nodes import is_kind, start_stopped_nodes, stop_nodes
from core.plans import arguments_of, planned
from core.target import Target

log = logging.getLogger("chaostoolkit")
METHODS = ("auto", "container-stop", "kubelet-stop")


def docker_reaches(context: str) -> bool:
    """Whether this machine runs the kind cluster of `context` in its docker."""
    if not is_kind(context) or shutil.which("docker") is None:
        return False
    cluster = context.removeprefix("kind-")
    proc = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", f"{cluster}-control-plane"],
                          capture_output=True, text=True, timeout=30)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def method_for(target: Target, method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method {method!r}: one of {', '.join(METHODS)}")
    if method != "auto":
        return method
    return "container-stop" if docker_reaches(target.context) else "kubelet-stop"


def _plan_fail(a: dict, target: Target) -> list[str]:
    chosen = method_for(target, a["method"])
    action = stop_nodes if chosen == "container-stop" else stop_kubelet
    given = {k: v for k, v in a.items() if k in arguments_of(action, {})}
    return [f"method {chosen}" + (" (auto)" if a["method"] == "auto" else "") + ":",
            *action.plan(arguments_of(action, given), target)]


@planned(_plan_fail)
def fail_nodes(method: str = "auto", pods_label_selector: str = "", ns: str = "", nodes: list[str] | None = None,
               zone: str = "", deadline_s: float = 900, lease_s: float = 15, configuration: dict | None = None) -> dict:
    """Fails `nodes`, or every worker of `zone`, or else the busiest worker for the selector, by
    `method` (deadline_s and lease_s bound a kubelet-stop). Returns what the method's action
    returns, with the method chosen."""
    target = Target.of(configuration)
    chosen = method_for(target, method)
    log.info("failing nodes by %s%s", chosen, " (auto)" if method == "auto" else "")
    if chosen == "container-stop":
        done = stop_nodes(pods_label_selector, ns, nodes, zone, configuration=configuration)
    else:
        done = stop_kubelet(pods_label_selector, ns, nodes, zone, deadline_s, lease_s, configuration=configuration)
    return {**done, "method": chosen, "failed_at": datetime.now(timezone.utc).isoformat()}


def restore_failed_nodes(configuration: dict | None = None) -> dict:
    """Rollback of fail_nodes, whichever method it took: starts the stopped node containers (on
    kind, from this machine) and reverts the node agents, waiting until every node is Ready."""
    target = Target.of(configuration)
    started = start_stopped_nodes(configuration=configuration) if docker_reaches(target.context) else {"nodes": []}
    return {"started": started, "reverted": revert_agent_faults(configuration=configuration)}
