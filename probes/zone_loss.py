"""Was a zone loss absorbed? Watched on the scaled copy of the stack (actions.scaled_copy) while
the simulated nodes of one zone are cut off (actions.simulated): `zone_loss_observed` is the
probe an experiment runs right after the fault; it looks every `every_s` until the copy is whole
again (or `timeout_s` passes) and returns the evidence; the verdict functions below judge it.

Simulated pods use no CPU: these are answers about scheduling (room, spreads, budgets), not
about load. The node lifecycle controller's own delays are part of the answer: the nodes turn
NotReady a grace period after their last Lease renewal; the controller then taints them for
eviction at --node-eviction-rate (0.1 nodes a second by default) while the zone is wholly down
(and not at all from a zone of 50 nodes or fewer mostly, not wholly, down); their pods go a
toleration after the taint. A big zone takes minutes to empty: the evidence keeps the pace.
"""

import time
from collections import Counter, defaultdict

from kubernetes import client
from kubernetes.utils import parse_quantity

from core.simulated import LOST_LABEL, SIMULATED, scaled_namespace
from core.target import Target
from core.verdict import Verdict, Window, inconclusive, judged, utc
from edge.kube import api_client, condition_true, list_json, pod_seen_raw
from edge.rundir import note_progress

ZONE = "topology.kubernetes.io/zone"
CAPACITY_WORDS = ("Insufficient", "Too many pods")      # the scheduler's words for "no room"
PROGRESS_EVERY_S = 15                                    # a look at the copy for the progress line


def unschedulable_message(pod: dict) -> str | None:
    return next((c.get("message") or c.get("reason") for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == "PodScheduled" and c.get("status") == "False"), None)


def _name(obj: dict) -> str:
    return obj["metadata"]["name"]


def _gone(pod: dict) -> bool:
    return "deletionTimestamp" in pod["metadata"]


def _node(pod: dict) -> str | None:
    return (pod.get("spec") or {}).get("nodeName")


def why_pending(message: str) -> str:
    """capacity (no node with room), spread (a topology spread constraint), or other."""
    if any(w in message for w in CAPACITY_WORDS):
        return "capacity"
    return "spread" if "topology spread" in message else "other"


class _Watch:
    """What one look at the copy saw, folded into the evidence. Each look lists as JSON (edge.kube.
    list_json): a copy of ten thousand pods is read in a fraction of a second, not in seconds."""

    def __init__(self, started: float):
        self.started = started
        self.to_evict: set[str] = set()
        self.first_evicted_s = self.all_evicted_s = self.recovered_s = None
        self.samples: list[list] = []                       # [s, available, desired, pending, evicted]
        self.pending: dict[str, dict] = {}                  # class -> {"most": n, "examples": [...]}
        self.budgets: dict[str, dict] = {}                  # pdb -> the lowest healthy-minus-desired seen
        self.only_room_short = False                        # the last look's Pending pods all wanted room

    def look(self, core: client.CoreV1Api, apps: client.AppsV1Api, policy: client.PolicyV1Api, ns: str) -> None:
        s = round(time.monotonic() - self.started, 1)
        lost = {_name(n) for n in list_json(core.list_node, label_selector=LOST_LABEL)["items"]}
        pods = list_json(core.list_namespaced_pod, ns)["items"]
        if not self.samples:
            self.to_evict = {_name(p) for p in pods if _node(p) in lost and not _gone(p)}
        alive = {_name(p) for p in pods if not _gone(p)}
        evicted = self.to_evict - alive
        if evicted and self.first_evicted_s is None:
            self.first_evicted_s = s
        if self.to_evict and evicted == self.to_evict and self.all_evicted_s is None:
            self.all_evicted_s = s
        classes = Counter()
        for pod in pods:
            if pod["status"].get("phase") == "Pending" and not _gone(pod) and (msg := unschedulable_message(pod)):
                kind = why_pending(msg)
                classes[kind] += 1
                seen = self.pending.setdefault(kind, {"most": 0, "examples": []})
                if len(seen["examples"]) < 3 and msg not in seen["examples"]:
                    seen["examples"].append(msg)
        for kind, n in classes.items():
            self.pending[kind]["most"] = max(self.pending[kind]["most"], n)
        deployments = list_json(apps.list_namespaced_deployment, ns)["items"]
        available = sum((d.get("status") or {}).get("availableReplicas") or 0 for d in deployments)
        desired = sum(d["spec"].get("replicas") or 0 for d in deployments)
        self.samples.append([s, available, desired, sum(classes.values()), len(evicted)])
        self.only_room_short = bool(classes) and set(classes) == {"capacity"}
        if self.all_evicted_s is not None and self.recovered_s is None and available >= desired and not classes:
            self.recovered_s = s
        for b in list_json(policy.list_namespaced_pod_disruption_budget, ns)["items"]:
            healthy, floor = (b.get("status") or {}).get("currentHealthy"), (b.get("status") or {}).get("desiredHealthy")
            short = (healthy or 0) - (floor or 0)
            low = self.budgets.setdefault(_name(b), {"lowest": short, "at_s": s, "healthy": healthy, "desired": floor})
            if short < low["lowest"]:
                low.update(lowest=short, at_s=s, healthy=healthy, desired=floor)

    def stuck_for(self, seconds: float) -> bool:
        """Every pod of the lost nodes evicted, and since then, for `seconds`, pods Pending for want
        of room only and the copy not changed at all: the scheduler has nowhere to put them, and
        nothing in the copy will make room (a cluster autoscaler would; kind has none)."""
        if self.all_evicted_s is None or self.recovered_s is not None or not self.only_room_short:
            return False
        last = self.samples[-1]
        since = last[0]
        for sample in reversed(self.samples):
            if sample[1:4] != last[1:4] or sample[0] < self.all_evicted_s:
                break
            since = sample[0]
        return last[0] - since >= seconds


def _quantity(value: str) -> float:
    """A Kubernetes quantity (cpu or memory) as a float: cores or bytes."""
    return float(parse_quantity(value))


def capacity_left(core: client.CoreV1Api) -> dict:
    """Allocatable and requested CPU, memory and pod slots over the Ready simulated nodes not lost
    (every namespace's pods: DaemonSets take room too)."""
    nodes = [n for n in list_json(core.list_node, label_selector=f"{SIMULATED},!{LOST_LABEL}")["items"]
             if condition_true(n, "Ready")]
    names = {_name(n) for n in nodes}
    out = {r: {"allocatable": sum(_quantity(n["status"].get("allocatable", {}).get(r, "0")) for n in nodes),
               "requested": 0.0} for r in ("cpu", "memory", "pods")}
    every = list_json(core.list_pod_for_all_namespaces, field_selector="status.phase!=Succeeded,status.phase!=Failed")
    for pod in every["items"]:
        if _node(pod) not in names:
            continue
        out["pods"]["requested"] += 1
        for c in pod["spec"]["containers"]:
            requests = (c.get("resources") or {}).get("requests") or {}
            for r in ("cpu", "memory"):
                out[r]["requested"] += _quantity(requests.get(r, "0"))
    out["nodes"] = len(nodes)
    return out


def spread_by_zone(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> dict:
    """Per Deployment of the copy: its ready pods per zone that has Ready simulated nodes, and
    the maxSkew its zone spread constraint allows (None without one)."""
    zone_of, live_zones = {}, set()
    for n in list_json(core.list_node, label_selector=SIMULATED)["items"]:
        labels = n["metadata"].get("labels") or {}
        zone_of[_name(n)] = labels.get(ZONE, "?")
        if condition_true(n, "Ready") and LOST_LABEL not in labels:
            live_zones.add(zone_of[_name(n)])
    counts = defaultdict(Counter)
    for pod in list_json(core.list_namespaced_pod, ns)["items"]:
        seen = pod_seen_raw(pod)
        if seen.ready and _node(pod) in zone_of:
            counts[seen.labels.get("app", "?")][zone_of[_node(pod)]] += 1
    spread = {}
    for d in list_json(apps.list_namespaced_deployment, ns)["items"]:
        skew = next((c.get("maxSkew") for c in d["spec"]["template"]["spec"].get("topologySpreadConstraints") or []
                     if c.get("topologyKey") == ZONE), None)
        spread[_name(d)] = {"zones": {z: counts[_name(d)].get(z, 0) for z in sorted(live_zones)}, "max_skew": skew}
    return spread


def zone_loss_observed(zone: str = "", timeout_s: float = 600, every_s: float = 2, stuck_s: float = 60,
                       configuration: dict | None = None) -> dict:
    """Watches the scaled copy from the zone's loss until every pod of the lost nodes is evicted
    and replaced and nothing is Pending, or the copy is stuck (_Watch.stuck_for stuck_s: an
    undersized cluster's answer, long before timeout_s), or timeout_s; returns the evidence the
    zone-loss checks judge."""
    target = Target.of(configuration)
    api = api_client(target.context)
    core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
    ns = scaled_namespace(target.namespace)
    started_at, watch = time.time(), _Watch(time.monotonic())
    noted = -PROGRESS_EVERY_S
    while True:
        watch.look(core, apps, policy, ns)
        s, available, desired, pending, evicted = watch.samples[-1]
        if s - noted >= PROGRESS_EVERY_S:
            note_progress(f"{evicted} of {len(watch.to_evict)} pods evicted, {available} of {desired} available, "
                          f"{pending} Pending")
            noted = s
        stuck = watch.stuck_for(stuck_s)
        if watch.recovered_s is not None or s >= timeout_s or (not watch.to_evict and s > 0) or stuck:
            break
        time.sleep(every_s)
    return {"zone": zone, "namespace": ns, "watched_from": started_at, "watched_s": watch.samples[-1][0],
            "timeout_s": timeout_s, "stuck_s": stuck_s if stuck else None,
            "pods_on_lost_nodes": len(watch.to_evict),
            "first_evicted_s": watch.first_evicted_s, "all_evicted_s": watch.all_evicted_s,
            "recovered_s": watch.recovered_s, "pending": watch.pending, "budgets": watch.budgets,
            "spread": spread_by_zone(core, apps, ns), "capacity": capacity_left(core), "samples": watch.samples}


# ---- verdicts over the evidence zone_loss_observed returned ----

def _window(ev: dict) -> Window:
    return Window.from_epoch(ev["watched_from"], ev["watched_from"] + max(ev["watched_s"], 1))


def _nothing_lost(check: str, expected: str, ev: dict) -> Verdict | None:
    if ev["pods_on_lost_nodes"]:
        return None
    return inconclusive(check, expected, f"no pod of the copy ran on zone {ev['zone']}'s simulated nodes when it was "
                        "lost: nothing to reschedule", _window(ev), subject=ev["namespace"])


def zone_loss_rescheduled(ev: dict, within_s: float) -> Verdict:
    """Every pod of the lost nodes evicted, and the copy whole again within within_s of the last
    eviction. The pace of the evictions is the node lifecycle controller's, and is reported."""
    check = "zone_loss_rescheduled"
    expected = f"every pod of the lost zone evicted, the copy whole again within {within_s:.0f} s of the last eviction"
    if none := _nothing_lost(check, expected, ev):
        return none
    s, available, desired, pending, evicted = ev["samples"][-1]
    lost = ev["pods_on_lost_nodes"]
    if ev["all_evicted_s"] is None:
        return judged(check, False, expected, f"{evicted} of the {lost} pods on the lost nodes evicted after {s:.0f} s",
                      _window(ev), ev["samples"], reason="the node lifecycle controller evicts a wholly lost zone at "
                      "--node-eviction-rate (default 0.1 nodes a second), and not at all from a zone of 50 nodes or "
                      "fewer mostly but not wholly down", subject=ev["namespace"], recovery_s=None)
    pace = f"{lost} pods on the lost nodes evicted from {ev['first_evicted_s']:.0f} s to {ev['all_evicted_s']:.0f} s"
    if ev["recovered_s"] is None and ev.get("stuck_s"):
        return judged(check, False, expected, f"{pace}; after {s:.0f} s {available} of {desired} available, {pending} "
                      f"Pending", _window(ev), ev["samples"], reason=f"{pending} pods Pending for want of room and the "
                      f"copy unchanged for {ev['stuck_s']:.0f} s after the last eviction: no node left has room for "
                      "them", subject=ev["namespace"], recovery_s=None, eviction_s=ev["all_evicted_s"])
    if ev["recovered_s"] is None and s < ev["all_evicted_s"] + within_s:
        return inconclusive(check, expected, f"the watch ended {s - ev['all_evicted_s']:.0f} s after the last eviction, "
                            f"the copy not yet whole ({available} of {desired} available, {pending} Pending): the probe's "
                            "timeout_s is shorter than the evictions and within_s",
                            _window(ev), subject=ev["namespace"], evidence=ev["samples"])
    if ev["recovered_s"] is None:
        return judged(check, False, expected, f"{pace}; after {s:.0f} s {available} of {desired} available, "
                      f"{pending} Pending", _window(ev), ev["samples"], reason="the copy was not whole again when the "
                      "watch ended", subject=ev["namespace"], recovery_s=None, eviction_s=ev["all_evicted_s"])
    recovery = round(ev["recovered_s"] - ev["all_evicted_s"], 1)
    return judged(check, recovery <= within_s, expected, f"{pace}; all {desired} available {recovery:.0f} s after the "
                  "last", _window(ev), ev["samples"], subject=ev["namespace"], recovery_s=recovery,
                  eviction_s=ev["all_evicted_s"])


def none_pending_for_capacity(ev: dict) -> Verdict:
    check, expected = "none_pending_for_capacity", "no pod Pending for want of CPU, memory or pod slots"
    if none := _nothing_lost(check, expected, ev):
        return none
    seen = ev["pending"].get("capacity") or {"most": 0, "examples": []}
    return judged(check, seen["most"] == 0, expected, f"at most {seen['most']} pods Pending for room at once",
                  _window(ev), seen, reason="; ".join(seen["examples"]), subject=ev["namespace"], pending=seen["most"])


def zone_spread_held(ev: dict) -> Verdict:
    """Each Deployment with a zone spread constraint: its pods over the zones left within maxSkew,
    and no pod Pending because a spread constraint could not be met."""
    check, expected = "zone_spread_held", "each Deployment's pods over the zones left within its maxSkew"
    if none := _nothing_lost(check, expected, ev):
        return none
    spread = {d: s for d, s in ev["spread"].items() if s["max_skew"] is not None and s["zones"]}
    if not spread:
        return inconclusive(check, expected, "no Deployment of the copy spreads over zones", _window(ev),
                            subject=ev["namespace"])
    skewed = {d: s["zones"] for d, s in spread.items() if max(s["zones"].values()) - min(s["zones"].values()) > s["max_skew"]}
    blocked = ev["pending"].get("spread") or {"most": 0, "examples": []}
    reason = "; ".join([*(f"{d}: {z}" for d, z in list(skewed.items())[:5]), *blocked["examples"]])
    return judged(check, not skewed and not blocked["most"], expected,
                  f"{len(skewed)} of {len(spread)} Deployments skewed beyond maxSkew, at most {blocked['most']} pods "
                  "Pending on a spread constraint", _window(ev), spread, reason=reason, subject=ev["namespace"])


def zone_loss_budgets_held(ev: dict) -> Verdict:
    """Taint-based eviction does not ask PodDisruptionBudgets: whether the healthy pods stayed at
    or above each budget's floor is a property of the spread and the budget, and this says it."""
    check, expected = "zone_loss_budgets_held", "every PDB's healthy pods at or above its floor throughout"
    if none := _nothing_lost(check, expected, ev):
        return none
    if not ev["budgets"]:
        return inconclusive(check, expected, "the copy has no PodDisruptionBudget", _window(ev), subject=ev["namespace"])
    broken = {b: low for b, low in ev["budgets"].items() if low["lowest"] < 0}
    reason = "; ".join(f"{b}: {low['healthy']} healthy < {low['desired']} at {low['at_s']:.0f} s"
                       for b, low in list(broken.items())[:5])
    return judged(check, not broken, expected, f"{len(broken)} of {len(ev['budgets'])} PDBs below their floor",
                  _window(ev), ev["budgets"], reason=reason, subject=ev["namespace"], broken=len(broken))


def capacity_margin(ev: dict, min_margin: float) -> Verdict:
    """What is left of the zones that stayed, per resource: 1 - requested / allocatable."""
    check, expected = "capacity_margin", f"at least {min_margin:.0%} of CPU, memory and pod slots free with the zone lost"
    cap = ev["capacity"]
    if not cap.get("nodes"):
        return inconclusive(check, expected, "no Ready simulated node left", _window(ev), subject=ev["namespace"])
    margins = {r: round(1 - cap[r]["requested"] / cap[r]["allocatable"], 4) if cap[r]["allocatable"] else 0.0
               for r in ("cpu", "memory", "pods")}
    tight = min(margins, key=margins.get)
    return judged(check, margins[tight] >= min_margin, expected,
                  ", ".join(f"{r} {m:.1%} free" for r, m in margins.items()) + f" on {cap['nodes']} nodes",
                  _window(ev), cap, reason=f"{tight} is the tightest" if margins[tight] < min_margin else "",
                  subject=ev["namespace"], margin=margins[tight])


def simulated_zones_ready(zones: int = 3, configuration: dict | None = None) -> bool:
    """Steady state: Ready simulated nodes in at least `zones` zones."""
    core = client.CoreV1Api(api_client(Target.of(configuration).context))
    found = {(n["metadata"].get("labels") or {}).get(ZONE)
             for n in list_json(core.list_node, label_selector=f"{SIMULATED},!{LOST_LABEL}")["items"]
             if condition_true(n, "Ready")}
    return len(found - {None}) >= zones
