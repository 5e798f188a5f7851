"""A capacity model from a step-load run: what one replica of each Deployment serves at its HPA's
CPU target, where the stack stops meeting its SLO (the knee), and how many replicas a target
request rate needs when one zone is lost. Pure functions over frames; the judge fetches.

Method (stated in every verdict, so the report can print it):
- steps are the stretches of constant Locust users; each is judged on its last half only, when
  the 30 s rate windows and the HPA have caught up with the new load;
- per step and Deployment, medians of requests/s, CPU cores (cAdvisor) and ready pods give the
  requests/s per pod and the CPU utilization (% of the pods' request, as the HPA computes it);
- a least-squares line utilization = slope × rps_per_pod + intercept over the steps, solved for
  the HPA target, gives requests/s per replica at target; its ±2σ band comes from the fit's
  covariance (delta method) — an interval over the steps, not over days or machines;
- the knee is the first step where a client-side SLO objective broke;
- replicas for a target: the Deployment's share of the entry requests (its fan-out) at the target
  rate, divided by requests/s per replica, then raised so that losing the zone holding the most
  pods (pods spread evenly) still leaves enough.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.load_stats import window_stats
from core.sizing import replicas_for
from core.thresholds import Threshold
from core.verdict import Verdict, Window, inconclusive, judged

STEADY_FRACTION = 0.5   # the judged part of a step: its last half
MIN_STEP_S = 20         # shorter stretches are ramps, not steps
MIN_FIT_STEPS = 3       # a line through two points has no error to speak of
SIGMAS = 2

METHOD = ("Steps of constant users, each judged on its last half; per Deployment, medians of requests/s, "
          "CPU cores (cAdvisor) and ready pods per step; a least-squares line of CPU utilization against "
          "requests/s per pod, solved for the HPA target (±2σ from the fit's covariance); the knee is the "
          "first step breaking a client SLO objective; replicas for a target rate are raised so that losing "
          "the zone with the most pods (even spread) still leaves enough.")


@dataclass(frozen=True)
class Step:
    users: int
    start: float   # the judged (steady) part, unix seconds
    end: float

    @property
    def window(self) -> Window:
        return Window.from_epoch(self.start, self.end)


def load_steps(users: pd.DataFrame) -> list[Step]:
    """Stretches of constant users (> 0) from Locust's per-second user count (columns t, users)."""
    users = users.sort_values("t")
    stretch = (users.users != users.users.shift()).cumsum()
    steps = []
    for _, rows in users.groupby(stretch):
        count, start, end = int(rows.users.iloc[0]), float(rows.t.iloc[0]), float(rows.t.iloc[-1])
        if count > 0 and end - start >= MIN_STEP_S:
            steps.append(Step(count, end - (end - start) * STEADY_FRACTION, end))
    return steps


def client_at(timeline: pd.DataFrame, step: Step, objectives: list[Threshold]) -> dict:
    """What clients saw in a step: requests/s, each objective's value, whether all held."""
    stats = window_stats(timeline, step.window)
    if stats is None:
        return {"users": step.users, "rps": 0.0, "held": None, "objectives": {}, "broken": []}
    values = {t.expr: stats.value(t) for t in objectives}
    broken = [t.expr for t in objectives if not t.holds(values[t.expr])]
    return {"users": step.users, "rps": stats.rps, "objectives": values, "held": not broken, "broken": broken}


def deployment_at(samples: pd.DataFrame, ready: pd.DataFrame, deployment: str, step: Step) -> dict | None:
    """Medians in a step: requests/s, CPU cores, ready pods; per pod: requests/s and CPU
    utilization (% of request). samples: t, deployment, rps, cpu_cores, request_cores; ready: t,
    name, ready. None without samples."""
    inside = samples[(samples.deployment == deployment) & samples.t.between(step.start, step.end)]
    pods = ready[(ready.name == deployment) & ready.t.between(step.start, step.end)].ready.median()
    if inside.empty or inside.rps.isna().all() or not pods or pods != pods:
        return None
    rps, cores, request = inside.rps.median(), inside.cpu_cores.median(), inside.request_cores.median()
    return {"rps": rps, "cpu_cores": cores, "ready": pods, "rps_per_pod": rps / pods,
            "utilization_pct": 100 * cores / (pods * request) if request else None}


@dataclass(frozen=True)
class Fit:
    slope: float
    intercept: float
    r2: float
    n: int
    cov: tuple | None   # ((var slope, cov), (cov, var intercept)); None under 4 points

    def x_at(self, y: float) -> tuple[float, float | None]:
        """x where the line reaches y, and its standard error (delta method; None without cov)."""
        x = (y - self.intercept) / self.slope
        if self.cov is None:
            return x, None
        (var_a, cov_ab), (_, var_b) = self.cov
        var = (var_b + x * x * var_a + 2 * x * cov_ab) / (self.slope ** 2)
        return x, math.sqrt(max(var, 0.0))


def fit_line(x: list[float], y: list[float]) -> Fit:
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    if len(xs) >= 4:
        (a, b), cov = np.polyfit(xs, ys, 1, cov=True)
        cov = tuple(map(tuple, cov))
    else:
        (a, b), cov = np.polyfit(xs, ys, 1), None
    residual = ys - (a * xs + b)
    spread = ((ys - ys.mean()) ** 2).sum()
    return Fit(float(a), float(b), float(1 - (residual ** 2).sum() / spread) if spread else 0.0, len(xs), cov)


def knee(clients: list[dict]) -> dict:
    """The last step that held every objective and the first that broke one."""
    held = [c for c in clients if c["held"]]
    broke = next((c for c in clients if c["held"] is False), None)
    return {"held_rps": held[-1]["rps"] if held else None, "held_users": held[-1]["users"] if held else None,
            "broke_rps": broke["rps"] if broke else None, "broke_users": broke["users"] if broke else None,
            "broke": broke["broken"] if broke else []}


def model_deployment(rows: list[dict], clients: list[dict], cpu_target_pct: float, target_rps: float,
                     zones: int, max_replicas: int) -> dict:
    """One Deployment's line, requests/s per replica at target (±2σ) and replicas for the target."""
    points = [(r["rps_per_pod"], r["utilization_pct"]) for r in rows
              if r and r["utilization_pct"] is not None and r["rps_per_pod"] > 0]
    out = {"cpu_target_pct": cpu_target_pct, "max_replicas": max_replicas, "points": points}
    if rows and all(r and r["rps"] == 0 for r in rows):
        return {**out, "unloaded": "answered no request of this load at any step: its work does not follow "
                                   "the entry rate (or comes by another protocol), so it is not modelled"}
    if len(points) < MIN_FIT_STEPS:
        return {**out, "problem": f"{len(points)} steps with traffic and CPU data, {MIN_FIT_STEPS} needed"}
    fit = fit_line(*zip(*points))
    if fit.slope <= 0:
        return {**out, "problem": f"CPU does not grow with requests (slope {fit.slope:.3g} %/rps)"}
    per_replica, error = fit.x_at(cpu_target_pct)
    fanouts = [r["rps"] / c["rps"] for r, c in zip(rows, clients) if r and c["rps"] > 0]
    fanout = float(np.median(fanouts)) if fanouts else 0.0
    low = per_replica - SIGMAS * error if error is not None else None
    high = per_replica + SIGMAS * error if error is not None else None
    return {**out, "fit": {"slope": fit.slope, "intercept": fit.intercept, "r2": fit.r2, "n": fit.n},
            "rps_per_replica": per_replica, "low": low, "high": high, "fanout": fanout,
            "replicas": replicas_for(target_rps, fanout, per_replica, zones),
            "replicas_pessimistic": replicas_for(target_rps, fanout, low, zones) if low and low > 0 else None}


def per_replica(model: dict) -> str:
    """The model's own figure, in the verdict's line: what a log reader compares runs by."""
    band = f", {model['low']:.1f}–{model['high']:.1f}" if model.get("low") is not None else ""
    return f"{model['rps_per_replica']:.1f} req/s per replica at {model['cpu_target_pct']} % CPU{band}"


def capacity_for_target(steps: list[Step], timeline: pd.DataFrame, samples: pd.DataFrame, ready: pd.DataFrame,
                        hpas: dict[str, dict], objectives: list[Threshold], target_rps: float, zones: int,
                        window: Window) -> Verdict:
    """pass: for every HPA-scaled Deployment, the replicas the target rate needs with a zone lost
    fit under the HPA's maxReplicas. hpas: {deployment: {"cpu_target_pct", "max"}}."""
    check, subject, expected = "capacity_for_target", f"{target_rps:g} rps", (
        f"{target_rps:g} requests/s served at the HPA CPU targets with one of {zones} zones lost, within maxReplicas")
    if len(steps) < MIN_FIT_STEPS:
        return inconclusive(check, expected, f"{len(steps)} load steps found, {MIN_FIT_STEPS} needed "
                            "(a step profile makes them)", window, subject=subject)
    clients = [client_at(timeline, s, objectives) for s in steps]
    models = {d: model_deployment([deployment_at(samples, ready, d, s) for s in steps], clients,
                                  h["cpu_target_pct"], target_rps, zones, h["max"]) for d, h in hpas.items()}
    details = {"method": METHOD, "target_rps": target_rps, "zones": zones, "knee": knee(clients),
               "steps": [{"users": s.users, "start": s.start, "end": s.end, **c} for s, c in zip(steps, clients)],
               "deployments": models}
    unfit = {d: m["problem"] for d, m in models.items() if "problem" in m}
    modelled = {d: m for d, m in models.items() if "rps_per_replica" in m}
    if not modelled and not unfit:
        unfit["deployments"] = "none of the HPA-scaled Deployments answered requests of this load"
    if zones < 2:
        unfit["nodes"] = "they span one zone: no zone can be lost and leave anything"
    if unfit:
        return Verdict(check, "inconclusive", expected, "no model for " + ", ".join(unfit), window, details["steps"],
                       "; ".join(f"{d}: {p}" for d, p in unfit.items()), details, subject)
    short = {d: m for d, m in modelled.items() if m["replicas"]["zone_lost"] > m["max_replicas"]}
    observed = ", ".join(f"{d} {m['replicas']['zone_lost']} of max {m['max_replicas']} ({per_replica(m)})"
                         for d, m in modelled.items())
    reason = "; ".join(f"{d} needs {m['replicas']['zone_lost']} replicas with a zone lost, maxReplicas is "
                       f"{m['max_replicas']}" for d, m in short.items())
    return judged(check, not short, expected, observed, window, details["steps"], reason, subject=subject, **details)
