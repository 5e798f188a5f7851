"""HPA verdicts: did the replicas rise after load crossed the target, and come back down no sooner
than the scale-down stabilization window allows. The replicas are the Deployment's desired count
as the readiness sampler saw it (≤ 1 s, gameday.sampler); the crossing is the utilization the HPA
itself reported (kube-state-metrics). Pure functions over frames; fetching is at the edge below.
"""

import logging

import pandas as pd

from core.target import Target
from core.verdict import Verdict, Window, inconclusive, judged
from edge.kube import apps_api, autoscaling_api
from edge.poll import poll
from edge.prometheus import Prometheus

log = logging.getLogger("chaostoolkit")
SYNC_S = 15  # the HPA controller's default sync period: a decision can lag a condition this long
# how long before Prometheus shows the utilization over target the HPA may already have acted on it:
# its status is read by kube-state-metrics and scraped every 5 s, its scale-out sampled within 1 s
METRIC_LAG_S = 10


def _desired(frame: pd.DataFrame, deployment: str, window: Window) -> pd.DataFrame:
    rows = frame[(frame.kind == "deployment") & (frame.name == deployment)]
    rows = rows[(rows.time >= window.start) & (rows.time <= window.end)].sort_values("t")
    return rows[rows.desired.notna()]


def _changes(rows: pd.DataFrame) -> pd.DataFrame:
    """The samples where the desired replicas changed (the first sample excluded)."""
    return rows[rows.desired.ne(rows.desired.shift()) & rows.desired.shift().notna()]


def _steps(rows: pd.DataFrame) -> list:
    changed = rows[rows.desired.ne(rows.desired.shift())]
    return [[round(t, 3), int(v)] for t, v in zip(changed.t, changed.desired)]


def hpa_scaled_out(frame: pd.DataFrame, deployment: str, crossed_at: pd.Timestamp | None, at_least: int,
                   within_s: float, window: Window) -> Verdict:
    """pass: after the HPA saw utilization over its target (crossed_at), the desired replicas
    reached at_least within within_s; the reaction time (crossing to first scale-out) is reported."""
    check, subject = "hpa_scaled_out", deployment
    expected = f"≥ {at_least} replicas within {within_s:.0f} s of the load crossing the target"
    rows = _desired(frame, deployment, window)
    if rows.empty:
        return inconclusive(check, expected, "no readiness sample of the Deployment", window, subject=subject)
    if crossed_at is None:
        return inconclusive(check, expected, "the HPA never reported utilization over its target: "
                            "the load did not cross it, nothing to judge", window, {"desired": _steps(rows)},
                            subject=subject)
    # the HPA scales in the same sync that records the utilization; Prometheus sees that record a
    # scrape later, the sampler the new replicas within a second: a scale-out that far before the
    # crossing is its reaction (podinfo went 2 → 4 in one step, seen 'before' the crossing)
    acted_from = crossed_at - pd.Timedelta(seconds=METRIC_LAG_S)
    before, after = rows[rows.time < acted_from], rows[rows.time >= acted_from]
    start = int(before.desired.iloc[-1]) if len(before) else int(rows.desired.iloc[0])
    evidence = {"desired": _steps(rows), "crossed_at": crossed_at.isoformat()}
    ups = after[after.desired > start]
    if ups.empty:
        return judged(check, False, expected, f"stayed at {start} replicas", window, evidence,
                      reason="the HPA did not scale out", from_replicas=start, peak=start, subject=subject)
    reaction_s = max(0.0, (ups.time.iloc[0] - crossed_at).total_seconds())
    reached = after[after.desired >= at_least]
    peak = int(after.desired.max())
    if reached.empty:
        return judged(check, False, expected, f"{start} → {peak} replicas (first step after {reaction_s:.0f} s)",
                      window, evidence, reason=f"never reached {at_least}", reaction_s=reaction_s, peak=peak,
                      subject=subject)
    reached_s = max(0.0, (reached.time.iloc[0] - crossed_at).total_seconds())
    return judged(check, reached_s <= within_s, expected,
                  f"{start} → {at_least} in {reached_s:.0f} s (first step after {reaction_s:.0f} s, peak {peak})",
                  window, evidence, reason="" if reached_s <= within_s else f"took {reached_s:.0f} s > {within_s:.0f} s",
                  reaction_s=reaction_s, reached_s=reached_s, peak=peak, subject=subject)


def hpa_scaled_in(frame: pd.DataFrame, deployment: str, min_replicas: int, stabilization_s: float,
                  window: Window) -> Verdict:
    """pass: after its last scale-out the Deployment scaled in (back to min_replicas, or at least
    down), and not before stabilization_s had passed since that scale-out: at a scale-out the
    HPA's recommendation was the new count, so no scale-in may follow within the window."""
    check, subject = "hpa_scaled_in", deployment
    expected = f"back toward {min_replicas} replicas, the first step ≥ {stabilization_s:.0f} s after the last scale-out"
    rows = _desired(frame, deployment, window)
    changes = _changes(rows)
    ups = changes[changes.desired > rows.desired.shift().loc[changes.index]]
    if rows.empty or ups.empty:
        return inconclusive(check, expected, "no scale-out in the window: nothing to scale in from", window,
                            {"desired": _steps(rows)} if len(rows) else None, subject=subject)
    last_up = ups.iloc[-1]
    downs = changes[(changes.time > last_up.time) & (changes.desired < last_up.desired)]
    evidence = {"desired": _steps(rows), "last_scale_out": last_up.time.isoformat()}
    waited = (rows.time.iloc[-1] - last_up.time).total_seconds()
    if downs.empty:
        if waited < stabilization_s + SYNC_S:
            return inconclusive(check, expected, f"the run ended {waited:.0f} s after the last scale-out, inside "
                                "the stabilization window", window, evidence, subject=subject)
        return judged(check, False, expected, f"still at {int(last_up.desired)} replicas {waited:.0f} s after the "
                      "last scale-out", window, evidence, reason="the HPA did not scale in", subject=subject)
    first_s = (downs.time.iloc[0] - last_up.time).total_seconds()
    at_min = rows[(rows.time > last_up.time) & (rows.desired <= min_replicas)]
    back = (f", at {min_replicas} after {(at_min.time.iloc[0] - last_up.time).total_seconds():.0f} s"
            if len(at_min) else f", {int(rows.desired.iloc[-1])} at the end")
    early = first_s < stabilization_s - 2  # 2 s: sampling and clock jitter
    return judged(check, not early, expected, f"first scale-in {first_s:.0f} s after the last scale-out{back}",
                  window, evidence, reason=f"scaled in {stabilization_s - first_s:.0f} s inside the stabilization "
                  "window" if early else "", first_scale_in_s=first_s, reached_min=bool(len(at_min)), subject=subject)


# ---- the edge: what the HPA reported, and its spec ----

def target_crossed_at(prom: Prometheus, namespace: str, hpa: str, window: Window,
                      metric: str = "cpu") -> pd.Timestamp | None:
    """The first time in the window the HPA reported `metric` utilization over its target."""
    selector = f'namespace="{namespace}", horizontalpodautoscaler="{hpa}", metric_name="{metric}"'
    query = (f'kube_horizontalpodautoscaler_status_target_metric{{{selector}, metric_target_type="utilization"}}'
             f' > on(namespace, horizontalpodautoscaler, metric_name) '
             f'kube_horizontalpodautoscaler_spec_target_metric{{{selector}, metric_target_type="utilization"}}')
    over = prom.range(query, window, step_s=1)
    return None if over.empty else over.timestamp.min()


def hpa_spec(namespace: str, hpa: str, context: str) -> dict:
    """min/max replicas, the scale-down stabilization window (default 300 s) and the CPU target
    utilization (None if it scales on something else) of a live HPA."""
    spec = autoscaling_api(context).read_namespaced_horizontal_pod_autoscaler(hpa, namespace).spec
    down = spec.behavior.scale_down if spec.behavior and spec.behavior.scale_down else None
    stabilization = down.stabilization_window_seconds if down and down.stabilization_window_seconds is not None else 300
    cpu = next((m.resource.target.average_utilization for m in spec.metrics or []
                if m.type == "Resource" and m.resource.name == "cpu"), None)
    return {"min": spec.min_replicas or 1, "max": spec.max_replicas, "scale_down_stabilization_s": stabilization,
            "deployment": spec.scale_target_ref.name, "cpu_target_pct": cpu}


def at_rest(hpa: dict) -> str:
    """'' when the HPA (as the API serves it: camelCase dicts) is at rest: at its minimum, or held
    above it by a metric that is no load (memory), its recommendation the current size, CPU under
    target, no stabilization window or rate limit holding a change back; else what it is doing."""
    spec, status = hpa["spec"], hpa.get("status") or {}
    current, low = status.get("currentReplicas") or 0, spec.get("minReplicas") or 1
    if current == low:
        return ""
    reasons = {c["type"]: c.get("reason", "") for c in status.get("conditions") or []}
    cpu = next((m["resource"]["current"].get("averageUtilization") for m in status.get("currentMetrics") or []
                if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"), None)
    target = next((m["resource"]["target"].get("averageUtilization") for m in spec.get("metrics") or []
                   if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"), None)
    busy = f"{current} (min {low}"
    if status.get("desiredReplicas") != current or reasons.get("AbleToScale") != "ReadyForNewScale":
        return f"{busy}, {reasons.get('AbleToScale') or 'scaling'})"
    if reasons.get("ScalingLimited") in ("ScaleUpLimit", "ScaleDownLimit"):
        return f"{busy}, {reasons['ScalingLimited']})"
    if target is not None and (cpu is None or cpu >= target):   # an HPA without a CPU target: its conditions say
        return f"{busy}, CPU {cpu if cpu is not None else '?'} % of target {target} %)"
    return ""


# ---- Chaos Toolkit probe: wait for a replica count (long waits show progress) ----

def wait_for_replicas(deployment: str, ns: str = "", at_least: int | None = None, at_most: int | None = None,
                      timeout_s: float = 600, poll_s: float = 2, configuration: dict | None = None) -> dict:
    """Waits until the Deployment's desired replicas are ≥ at_least / ≤ at_most, or timeout_s."""
    target = Target.of(configuration)
    apps, ns = apps_api(target.context), ns or target.namespace
    goal = " and ".join(g for g in (at_least is not None and f"≥ {at_least}", at_most is not None and f"≤ {at_most}") if g)

    def check():
        replicas = apps.read_namespaced_deployment(deployment, ns).spec.replicas
        return (at_least is None or replicas >= at_least) and (at_most is None or replicas <= at_most), replicas
    reached, replicas, waited = poll(check, timeout_s, f"{deployment} replicas {goal}", poll_s)
    return {"deployment": deployment, "replicas": replicas, "reached": reached, "waited_s": waited}
