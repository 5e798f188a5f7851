"""A zone lost, on simulated nodes (core.simulated): every simulated node of one zone stops
renewing its Lease, as if the zone's network were cut; the node lifecycle controller marks them
NotReady, taints them and evicts their pods, and the scheduler places the replacements on what is
left. Nothing real stops, so the fault is safe on a cluster of any size and undoes itself the
moment the label goes: KWOK renews the Leases again and the nodes turn Ready.

Each node lost carries the label LOST_LABEL (its value: the zone); `restore_lost_nodes`, the
rollback, removes it from every node that has it, also after a crash of the run."""

import logging
from datetime import datetime, timezone

from kubernetes import client

from core.plans import planned
from core.simulated import LOST_LABEL, SIMULATED
from core.target import Target
from edge.kube import core_api, node_back
from edge.poll import poll

log = logging.getLogger("chaostoolkit")


def select_zone_nodes(core: client.CoreV1Api, zone: str) -> list[str]:
    """The simulated nodes of `zone` not lost already; refused when there are none (a zone name
    mistyped, or no simulated nodes: `make cluster KWOK_NODES=N`)."""
    if not zone:
        raise ValueError("name the zone to lose (zone)")
    nodes = core.list_node(label_selector=f"{SIMULATED},topology.kubernetes.io/zone={zone},!{LOST_LABEL}").items
    if not nodes:
        zones = sorted({(n.metadata.labels or {}).get("topology.kubernetes.io/zone", "?")
                        for n in core.list_node(label_selector=SIMULATED).items})
        known = ", ".join(zones) if zones else "none; make cluster KWOK_NODES=N adds simulated nodes"
        raise RuntimeError(f"no simulated node in zone {zone!r} to lose (simulated zones: {known})")
    return sorted(n.metadata.name for n in nodes)


def _plan_lose_zone(a: dict, target: Target) -> list[str]:
    nodes = select_zone_nodes(core_api(target.context), a["zone"])
    return [f"cut the {len(nodes)} simulated nodes of zone {a['zone']} off (their Leases expire): "
            f"{', '.join(nodes[:5])}{' …' if len(nodes) > 5 else ''}"]


@planned(_plan_lose_zone)
def lose_simulated_zone(zone: str = "", configuration: dict | None = None) -> dict:
    """Cuts every simulated node of `zone` off: KWOK stops renewing their Leases. Returns the
    nodes and when; their pods are evicted by the cluster itself, after its own grace periods."""
    core = core_api(Target.of(configuration).context)
    nodes = select_zone_nodes(core, zone)
    for node in nodes:
        core.patch_node(node, {"metadata": {"labels": {LOST_LABEL: zone}}})
    log.info("zone %s lost: %d simulated nodes no longer renew their Leases", zone, len(nodes))
    return {"zone": zone, "nodes": nodes, "lost_at": datetime.now(timezone.utc).isoformat()}


def lost_zones(core: client.CoreV1Api) -> dict[str, list[str]]:
    """{zone: its nodes the suite marked lost}: a zone's hundred nodes are one leftover, not a hundred."""
    zones: dict[str, list[str]] = {}
    for node in core.list_node(label_selector=LOST_LABEL).items:
        zones.setdefault(node.metadata.labels[LOST_LABEL], []).append(node.metadata.name)
    return {zone: sorted(nodes) for zone, nodes in sorted(zones.items())}


def restore_lost_nodes(ready_timeout_s: float = 120, configuration: dict | None = None) -> dict:
    """Rollback: brings back every node the suite marked lost and waits until each is Ready and
    its unreachable taints are gone (what scheduling on it needs again)."""
    core = core_api(Target.of(configuration).context)
    lost = [node for nodes in lost_zones(core).values() for node in nodes]
    for node in lost:
        core.patch_node(node, {"metadata": {"labels": {LOST_LABEL: None}}})
    if lost:
        log.info("restored %d lost simulated nodes; waiting for Ready", len(lost))

    def check():
        waiting = sorted(set(lost) - {n.metadata.name for n in core.list_node(label_selector=SIMULATED).items
                                      if node_back(n)})
        return not waiting, waiting
    ready, waiting, waited = poll(check, ready_timeout_s, f"{len(lost)} simulated nodes Ready and untainted again")
    if not ready:
        raise RuntimeError(f"restored but not Ready after {ready_timeout_s:.0f} s: {waiting} "
                           "(is KWOK running? make cluster starts it)")
    return {"nodes": lost, "ready_after_s": waited}
