"""Simulated nodes beside the kind workers (cluster/scripts/kwok.sh, KWOK built from its module):
Ready in three zones with their allocatable, never picked by the faults on real machines; a zone
of them lost is seen by the cluster's own controllers (NotReady, pods evicted and placed on the
zones left), judged by the zone-loss verdicts, undone by the rollback and by `gameday cleanup`.
A sized cluster absorbs the loss; the same copy asking for more CPU per pod does not fit on the
zones left, and the verdicts say so. Nine nodes here (the node lifecycle controller taints a lost
zone's nodes one per 10 s); `make gameday` runs the 300-node game day."""

import subprocess

import pytest

from actions.leftovers import cleanup as undo_leftovers, leftovers
from actions.nodes import busiest_worker
from actions.scaled_copy import delete_scaled_copy, deploy_scaled_copy
from actions.simulated import lose_simulated_zone, restore_lost_nodes
from core.simulated import LOST_LABEL, SIMULATED
from edge.kube import core_api, worker_zones
from gameday.guard import load_allowlist, target_of
from probes.zone_loss import (capacity_margin, none_pending_for_capacity, simulated_zones_ready, zone_loss_budgets_held,
                              zone_loss_observed, zone_loss_rescheduled, zone_spread_held)
from tests.integration.local import REPO

NODES = 9
ZONE = "sim-zone-a"


def kwok(count: int) -> None:
    done = subprocess.run([str(REPO / "cluster" / "scripts" / "kwok.sh"), str(count)], capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def simulated(seed_stack):
    """NODES simulated nodes for this module's while (KWOK built on first use), then none."""
    kwok(NODES)
    target = target_of(seed_stack, load_allowlist())
    yield target
    restore_lost_nodes(configuration=target.configuration())
    delete_scaled_copy(configuration=target.configuration())
    kwok(0)


@pytest.mark.cluster
def test_simulated_nodes_are_ready_in_three_zones_with_allocatable_and_no_real_fault_picks_them(simulated):
    core = core_api(simulated.context)
    nodes = core.list_node(label_selector=SIMULATED).items
    assert len(nodes) == NODES
    assert simulated_zones_ready(zones=3, configuration=simulated.configuration())
    assert {n.status.allocatable["cpu"] for n in nodes} == {"7910m"}
    assert all(n.status.addresses[0].address.startswith("10.250.") for n in nodes)
    assert not set(worker_zones(simulated.context)) & {n.metadata.name for n in nodes}
    assert not busiest_worker(core, "app=core-api", simulated.namespace).startswith("sim-")


def observe_a_zone_loss(target, cpu: str, timeout_s: float, stuck_s: float = 60) -> dict:
    """The scaled copy (4 Deployments × 6 pods) asking `cpu` a pod, ZONE lost, watched; both left in place."""
    configuration = target.configuration()
    made = deploy_scaled_copy(copies=1, replicas=6, requests={"cpu": cpu, "memory": "2Gi"},
                              configuration=configuration)
    assert made["pods"] == 24
    lost = lose_simulated_zone(zone=ZONE, configuration=configuration)
    assert len(lost["nodes"]) == NODES // 3
    return zone_loss_observed(zone=ZONE, timeout_s=timeout_s, stuck_s=stuck_s, configuration=configuration)


@pytest.mark.cluster
def test_a_zone_loss_on_a_sized_cluster_is_absorbed(simulated):
    # 24 pods of 1.5 CPU: five fit on a node, the 6 nodes of the zones left hold 30
    try:
        ev = observe_a_zone_loss(simulated, cpu="1500m", timeout_s=240)
    finally:
        restore_lost_nodes(configuration=simulated.configuration())
        delete_scaled_copy(configuration=simulated.configuration())
    verdicts = [zone_loss_rescheduled(ev, 60), none_pending_for_capacity(ev), zone_spread_held(ev),
                zone_loss_budgets_held(ev), capacity_margin(ev, 0.1)]
    assert [v.status for v in verdicts] == ["pass"] * 5, [(v.name, v.observed, v.reason) for v in verdicts]
    assert ev["pods_on_lost_nodes"] >= 6 and ev["first_evicted_s"] > 20   # the cluster's own grace, not ours
    assert ev["capacity"]["nodes"] == NODES - NODES // 3


@pytest.mark.cluster
def test_an_undersized_cluster_fails_for_want_of_room_and_cleanup_undoes_the_loss_and_the_copy(simulated):
    # the same copy at 2.5 CPU a pod: three fit on a node, the zones left hold 18 of the 24
    ev = observe_a_zone_loss(simulated, cpu="2500m", timeout_s=180, stuck_s=20)
    # the watch ends once the copy is stuck for want of room (evictions end ~70 s in), not at its timeout
    assert ev["stuck_s"] == 20 and ev["watched_s"] < 150, ev["samples"][-3:]
    rescheduled, pending = zone_loss_rescheduled(ev, 120), none_pending_for_capacity(ev)
    assert rescheduled.status == "fail" and "no node left has room" in rescheduled.reason, rescheduled
    assert pending.status == "fail" and "Insufficient cpu" in pending.reason, pending
    assert pending.details["pending"] == 6
    # left as a run killed there would leave them: the leftovers name both, cleanup undoes both
    left = leftovers(simulated)
    assert any(line.startswith(f"{NODES // 3} simulated nodes of zone {ZONE} cut off") for line in left), left
    assert any(line.startswith("namespace gameday-scaled") for line in left), left
    done = undo_leftovers(simulated)
    assert any(line.startswith("restore_lost_nodes") for line in done), done
    assert any(line.startswith("delete_scaled_copy") for line in done), done
    assert leftovers(simulated) == []
    assert not core_api(simulated.context).list_node(label_selector=LOST_LABEL).items
