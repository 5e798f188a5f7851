"""Pod faults as Chaos Toolkit actions: pods deleted, as a crash or an eviction would take them.
Nothing to undo: their controller replaces them (core.faults has no entry).

The arguments are chaostoolkit-kubernetes' terminate_pods', so an experiment moves over by its
module name; the selection is select_pods, which the dry run calls too (chaosk8s builds its own
client without timeouts, from the environment's context: not the target's)."""

import logging
import math
import random
import re

from kubernetes import client

from core.plans import planned
from core.target import Target
from edge.kube import core_api
from edge.prometheus import Prometheus

log = logging.getLogger("chaostoolkit")


def select_pods(core: client.CoreV1Api, target: Target, ns: str, label_selector: str = "", name_pattern: str = "",
                all: bool = False, qty: int = 1, mode: str = "fixed", order: str = "alphabetic",
                among: set[str] | None = None) -> tuple[list[client.V1Pod], int]:
    """(the candidate pods in order, how many of them to take): those the selector and the name
    pattern match (and named in `among`, when given), by name or oldest first; all of them, qty of
    them, or qty % of them (rounded up)."""
    target.check_namespace(ns)
    if mode not in ("fixed", "percentage") or order not in ("alphabetic", "oldest") or qty < 0:
        raise ValueError(f"mode {mode!r} (fixed | percentage), order {order!r} (alphabetic | oldest), "
                         f"qty {qty} (>= 0): one of them is not a selection")
    pods = core.list_namespaced_pod(ns, label_selector=label_selector or None).items
    pods = [p for p in pods if (not name_pattern or re.search(name_pattern, p.metadata.name))
            and (among is None or p.metadata.name in among)]
    pods.sort(key=lambda p: p.metadata.creation_timestamp if order == "oldest" else p.metadata.name)
    count = len(pods) if all else min(len(pods), math.ceil(qty * len(pods) / 100) if mode == "percentage" else qty)
    return pods, count


def _picked(pods: list[client.V1Pod], count: int, rand: bool) -> list[client.V1Pod]:
    return random.sample(pods, count) if rand else pods[:count]


def _plan_kill(a: dict, target: Target) -> list[str]:
    ns = a["ns"] or target.namespace
    pods, count = select_pods(core_api(target.context), target, ns, a["label_selector"], a["name_pattern"],
                              a["all"], a["qty"], a["mode"], a["order"], named_by(a["named_by_query"], a["prometheus_url"]))
    names = [p.metadata.name for p in pods]
    if a["rand"] and count < len(pods):
        return [f"delete {count} of these {len(pods)} pod(s) in {ns}, picked at random: {', '.join(names)}"]
    return [f"delete {count} of the {len(pods)} pod(s) matching in {ns}: {', '.join(names[:count]) or 'none'}"]


def named_by(named_by_query: str, prometheus_url: str) -> set[str] | None:
    """The pods a PromQL query names (None: no query, every pod may be picked)."""
    if not named_by_query:
        return None
    if not prometheus_url:
        raise ValueError("named_by_query needs prometheus_url: the Prometheus to ask")
    return Prometheus(prometheus_url).pods(named_by_query)


@planned(_plan_kill)
def kill_pods(label_selector: str = "", name_pattern: str = "", all: bool = False, rand: bool = False,
              mode: str = "fixed", qty: int = 1, grace_period: int = -1, ns: str = "", order: str = "alphabetic",
              named_by_query: str = "", prometheus_url: str = "", configuration: dict | None = None) -> list[str]:
    """Deletes pods of `ns` (default: the target's) that the label selector and name pattern match
    (and the PromQL named_by_query names in its `pod` label: a role only the application knows):
    `qty` of them (or `qty` percent, or all), the first by name (or the oldest first), or at random
    with rand; with their own grace period, or grace_period seconds when >= 0. Returns their names."""
    target = Target.of(configuration)
    ns = ns or target.namespace
    core = core_api(target.context)
    pods, count = select_pods(core, target, ns, label_selector, name_pattern, all, qty, mode, order,
                              named_by(named_by_query, prometheus_url))
    body = client.V1DeleteOptions(grace_period_seconds=grace_period) if grace_period >= 0 else client.V1DeleteOptions()
    deleted = []
    for pod in _picked(pods, count, rand):
        core.delete_namespaced_pod(pod.metadata.name, ns, body=body)
        deleted.append(pod.metadata.name)
        log.info("deleted pod %s/%s", ns, pod.metadata.name)
    return deleted
