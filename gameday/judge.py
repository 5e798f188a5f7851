"""Judges a finished run: the verdicts an experiment asks for (its `kube-gameday` extension),
computed from the run's artifacts (Chaos Toolkit journal, readiness samples, Locust timeline)
and Prometheus, plus the steady-state hypothesis as the journal recorded it. Gate on these, not
on `chaos run`'s exit code: a failed before-hypothesis exits 0."""

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
from kubernetes.client import ApiException

from core.load_stats import judge_thresholds, window_stats
from core.verdict import FAIL, INCONCLUSIVE, Verdict, Window, inconclusive, judged, utc
from edge.kube import worker_zones
from edge.prometheus import Prometheus, PrometheusError
from edge.rundir import load_readiness, load_timeline, load_users
from edge.stack import Stack
from gameday.coverage import Hole, source_holes
from gameday.record import deployment_samples
from probes.alerts import alert_can_fire, alert_fired, alert_resolved, alert_timeline, rule_timing, unexpected_critical_alerts
from probes.capacity import capacity_for_target, load_steps
from probes.delivery import delivery_verdict
from probes.drain import drain_completed
from probes.failover import failed_requests, failover_recovered, longest_outage_s, pdb_respected
from probes.hpa import hpa_scaled_in, hpa_scaled_out, hpa_spec, target_crossed_at
from probes.slo import server_counts, slo_agreement, slo_error_ratio, slo_latency

EXTENSION = "kube-gameday"


class ExperimentError(ValueError):
    """The experiment's kube-gameday extension is missing or asks for something unknown."""


def verdict_specs(experiment: dict, source: str) -> list[dict]:
    extensions = experiment.get("extensions") or []
    if not isinstance(extensions, list):
        raise ExperimentError(f"{source}: extensions: a list of {{name: ...}} mappings, not {extensions!r}")
    for ext in extensions:
        if isinstance(ext, dict) and ext.get("name") == EXTENSION:
            specs = ext.get("verdicts")
            if not isinstance(specs, list) or not all(isinstance(s, dict) and isinstance(s.get("check"), str)
                                                      for s in specs):
                raise ExperimentError(f"{source}: extensions[{EXTENSION}].verdicts must be a list of "
                                      "{check: NAME, ...} mappings")
            for i, spec in enumerate(specs):
                where = f"{source}: extensions[{EXTENSION}].verdicts[{i}]"
                if spec["check"] not in CHECKS:
                    raise ExperimentError(f"{where}: unknown check {spec['check']!r} (known: {', '.join(CHECKS)})")
                missing = [f for f in REQUIRED.get(spec["check"], ()) if f not in spec]
                if missing:
                    raise ExperimentError(f"{where}: {spec['check']} needs the field {missing[0]!r}")
            return specs
    raise ExperimentError(f"{source}: no extensions entry named {EXTENSION!r} listing its verdicts")


class Run:
    """What a finished run left in its directory."""

    def __init__(self, run_dir: Path, stack: Stack, specs: list[dict]):
        # "${namespace}" in a spec is the stack's, as in the experiment's own configuration
        self.specs = json.loads(json.dumps(specs).replace("${namespace}", stack.namespace))
        self.dir, self.stack = run_dir, stack
        self.journal = json.loads((run_dir / "journal.json").read_text())
        self.window = Window(utc(self.journal["start"]), utc(self.journal["end"]))
        # the method's actions, each with its start: the faults
        self.actions = [r for r in self.journal.get("run") or [] if r["activity"].get("type") == "action"]
        self.faults = [(r["activity"]["name"], pd.Timestamp(utc(r["start"]))) for r in self.actions]
        readiness = run_dir / "readiness.jsonl"
        self.readiness = load_readiness(readiness) if readiness.exists() else None
        timeline = run_dir / "load" / "timeline.jsonl"
        self.timeline = load_timeline(timeline) if timeline.exists() else None
        history = run_dir / "load" / "locust_stats_history.csv"
        self.users = load_users(history) if history.exists() else None
        self._holes: dict[str, list[Hole]] = {}

    def holes(self, source: str) -> list[Hole]:
        """Where `source` recorded nothing, from the method's first activity to the end (before
        it, a settle or the warm-up may rightly precede the load and the sampler)."""
        if source not in self._holes:
            first = min((utc(r["start"]) for r in self.journal.get("run") or []), default=None)
            window = Window(first, self.window.end) if first is not None and first < self.window.end else self.window
            self._holes[source] = source_holes(self, source, window)
        return self._holes[source]

    def chaos_window(self) -> Window | None:
        if not self.faults:
            return None
        return Window(self.faults[0][1].to_pydatetime(), self.window.end)

    def fault(self, action: str) -> pd.Timestamp | None:
        """When the method's action named `action` started."""
        return next((t for name, t in self.faults if name == action), None)

    def outputs_of(self, func: str) -> list[dict]:
        """The journal records of the method's actions calling `func` (e.g. drain_node)."""
        return [r for r in self.actions if r["activity"].get("provider", {}).get("func") == func]


def steady_state(run: Run) -> list[Verdict]:
    verdicts = []
    states = run.journal.get("steady_states") or {}
    for phase in ("before", "after"):
        name, expected = f"steady_state_{phase}", "the steady-state hypothesis holds"
        state = states.get(phase)
        if state is None:
            verdicts.append(inconclusive(name, expected, f"the journal has no {phase} hypothesis "
                                         f"(run status {run.journal.get('status')!r})", run.window))
            continue
        failed = [p["activity"]["name"] for p in state.get("probes", []) if not p.get("tolerance_met")]
        verdicts.append(judged(name, bool(state.get("steady_state_met")), expected,
                               "met" if state.get("steady_state_met") else f"not met: {', '.join(failed)}",
                               run.window, evidence=[{"probe": p["activity"]["name"], "output": p.get("output")}
                                                     for p in state.get("probes", [])]))
    return verdicts


def check_failover(run: Run, deployment: str, within_s: float, after: str | None) -> list[Verdict]:
    """One verdict per fault (each judged until the next action), or only after the action named
    `after` (the fault; later actions such as restarting a node belong to its recovery)."""
    end = pd.Timestamp(run.window.end)
    if after is None:
        faults = list(zip([f for f, _ in run.faults], [t for _, t in run.faults], [t for _, t in run.faults[1:]] + [end]))
    else:
        faults = [(after, run.fault(after), end)] if run.fault(after) is not None else []
    if run.readiness is None or not faults:
        return [inconclusive(f"failover_recovered[{deployment}]", f"recovered within {within_s:.0f} s",
                             "no readiness samples" if run.readiness is None else
                             f"no fault {after!r} was injected" if after else "no fault was injected", run.window)]
    return [replace(v, name=f"{v.name} after {fault}") for fault, start, end in faults
            for v in [failover_recovered(run.readiness, deployment, start,
                                         Window(start.to_pydatetime(), end.to_pydatetime()), within_s)]]


def check_pdb(run: Run, pdb: str) -> list[Verdict]:
    window = run.chaos_window() or run.window
    if run.readiness is None:
        return [inconclusive(f"pdb_respected[{pdb}]", "ready ≥ minAvailable", "no readiness samples", window)]
    verdict = pdb_respected(run.readiness, pdb, window)
    drains = [r["output"] for r in run.outputs_of("drain_node") if isinstance(r.get("output"), dict)]
    if not drains or verdict.status == INCONCLUSIVE:
        return [verdict]
    # the evictions this budget refused are the budget at work: counted with its verdict
    refused = sum(d.get("refused_by_pdb", {}).get(pdb, 0) for d in drains)
    return [replace(verdict, observed=f"{verdict.observed}; {refused} eviction(s) refused (HTTP 429) and retried",
                    details={**verdict.details, "refused_evictions": refused})]


def check_drain(run: Run) -> list[Verdict]:
    """drain_completed: every drain the method ran left its node empty of evictable pods."""
    records = run.outputs_of("drain_node")
    if not records:
        return [inconclusive("drain_completed", "the drained node emptied", "the method ran no drain_node", run.window)]
    return [drain_completed(r) for r in records]


def check_outage(run: Run, max_s: float = 0) -> list[Verdict]:
    name, expected = "longest_outage", f"no stretch without a successful response longer than {max_s:.0f} s"
    window = run.chaos_window() or run.window
    if run.timeline is None or run.timeline.empty:
        return [inconclusive(name, expected, "Locust recorded nothing", window)]
    seconds, at = longest_outage_s(run.timeline, window)
    observed = f"{seconds} s" + (f" from {pd.Timestamp(at, unit='s', tz='UTC').isoformat()}" if at else "")
    return [judged(name, seconds <= max_s, expected, observed, window, evidence={"seconds": seconds, "from": at},
                   reason="" if seconds <= max_s else f"clients saw {seconds} s without a successful response")]


def check_failed_requests(run: Run, max_failures: int, allowed: tuple[str, ...]) -> list[Verdict]:
    window = run.chaos_window() or run.window
    if run.timeline is None:
        return [inconclusive("failed_requests", f"≤ {max_failures} failed requests", "no Locust timeline", window)]
    return [failed_requests(run.timeline, window, max_failures, allowed)]


def check_slo_client(run: Run) -> list[Verdict]:
    exprs = [o.expr for o in run.stack.objectives]
    if run.timeline is None:
        return [inconclusive("slo_client", ", ".join(exprs), "no Locust timeline", run.window)]
    return judge_thresholds(run.timeline, exprs, run.window)


def check_slo_agreement(run: Run, max_gap: float) -> list[Verdict]:
    stats = window_stats(run.timeline, run.window) if run.timeline is not None else None
    try:
        requests, errors = server_counts(Prometheus(run.stack.prometheus_url), run.window, run.stack.server_selector)
    except PrometheusError as err:
        return [inconclusive("slo_agreement", "client and server error ratios agree", str(err), run.window)]
    return [slo_agreement(stats.requests if stats else 0, stats.failures if stats else 0, requests, errors,
                          run.window, max_gap)]


def check_slo_server(run: Run) -> list[Verdict]:
    prom, selector, verdicts = Prometheus(run.stack.prometheus_url), run.stack.server_selector, []
    for objective in run.stack.objectives:
        if objective.metric == "error_ratio":
            verdicts.append(slo_error_ratio(prom, run.window, objective.limit, selector))
        elif objective.quantile is not None:
            verdicts.append(slo_latency(prom, run.window, objective.quantile, objective.limit, selector))
    return verdicts


def check_alert(run: Run, alert: str, after: str, detection_s: float, resolved_after: str | None,
                labels: dict) -> list[Verdict]:
    """alert_fired (time to fire measured against the rule's own budget), alert_resolved after the
    restore, and both notifications delivered to the receiver when the stack names an alert sink.
    `labels` narrow the alert to the instances the fault concerns (e.g. its namespace)."""
    fault_at, restored_at = run.fault(after), run.fault(resolved_after) if resolved_after else None
    window = run.chaos_window() or run.window
    missing = [a for a, t in ((after, fault_at), (resolved_after, restored_at)) if a and t is None]
    if missing:
        return [inconclusive(f"alert_fired[{alert}]", f"{alert} fires after {after}",
                             f"the journal has no action named {missing[0]!r}", window)]
    try:
        prom = Prometheus(run.stack.prometheus_url)
        timing = rule_timing(prom, alert)
        timeline = alert_timeline(prom, run.window, labels={**labels, "alertname": alert})
    except PrometheusError as err:
        return [inconclusive(f"alert_fired[{alert}]", f"{alert} fires after {after}", str(err), window)]
    verdicts = [alert_fired(timeline, alert, fault_at, detection_s, timing, window)]
    if restored_at is not None:
        verdicts.append(alert_resolved(timeline, alert, restored_at, window))
    if run.stack.alert_sink_url:
        statuses = ("firing", "resolved") if restored_at is not None else ("firing",)
        verdicts += [delivery_verdict(run.stack.alert_sink_url, alert, window, status, labels) for status in statuses]
    return verdicts


def check_alert_can_fire(run: Run, alert: str) -> list[Verdict]:
    """Whether the loaded rule's expression names only metrics Prometheus has: a rule that cannot
    fire is silent however bad things get."""
    prom = Prometheus(run.stack.prometheus_url)
    try:
        expr = rule_timing(prom, alert)["expr"]
    except PrometheusError as err:
        return [inconclusive(f"alert_can_fire[{alert}]", "every metric the expression names exists", str(err), run.window)]
    return [alert_can_fire(prom, alert, expr, run.window)]


def check_unexpected_alerts(run: Run, expected: set[str]) -> list[Verdict]:
    try:
        timeline = alert_timeline(Prometheus(run.stack.prometheus_url), run.window)
    except PrometheusError as err:
        return [inconclusive("no_unexpected_critical_alert", "no unexpected critical alert", str(err), run.window)]
    return [unexpected_critical_alerts(timeline, expected, run.window)]


def _hpa(run: Run, name: str, expected: str, judge) -> list[Verdict]:
    """Fetches the HPA's live spec, then judges; an unreachable API or Prometheus is inconclusive."""
    if run.readiness is None:
        return [inconclusive(name, expected, "no readiness samples", run.window)]
    try:
        return [judge()]
    except (PrometheusError, ApiException) as err:
        return [inconclusive(name, expected, f"{type(err).__name__}: {err}", run.window)]


def check_hpa_out(run: Run, hpa: str, at_least: int, within_s: float) -> list[Verdict]:
    def judge():
        spec = hpa_spec(run.stack.namespace, hpa, run.stack.kube_context)
        crossed = target_crossed_at(Prometheus(run.stack.prometheus_url), run.stack.namespace, hpa, run.window)
        return hpa_scaled_out(run.readiness, spec["deployment"], crossed, at_least, within_s, run.window)
    return _hpa(run, f"hpa_scaled_out[{hpa}]", f"≥ {at_least} replicas within {within_s:.0f} s", judge)


def check_hpa_in(run: Run, hpa: str) -> list[Verdict]:
    def judge():
        spec = hpa_spec(run.stack.namespace, hpa, run.stack.kube_context)
        return hpa_scaled_in(run.readiness, spec["deployment"], spec["min"], spec["scale_down_stabilization_s"],
                             run.window)
    return _hpa(run, f"hpa_scaled_in[{hpa}]", "scaled in after the stabilization window", judge)


def check_capacity(run: Run, target_rps: float) -> list[Verdict]:
    name, expected = f"capacity_for_target[{target_rps:g} rps]", "a capacity model from a step-load run"
    if run.timeline is None or run.readiness is None or run.users is None:
        return [inconclusive(name, expected, "no Locust timeline, user history or readiness samples", run.window)]
    steps = load_steps(run.users)
    try:
        span = Window.from_epoch(steps[0].start, steps[-1].end) if steps else run.window
        samples = deployment_samples(run.stack, span)
        specs = [hpa_spec(run.stack.namespace, hpa, run.stack.kube_context) for hpa in run.stack.hpas]
        zones = len(set(worker_zones(run.stack.kube_context).values()))
    except (PrometheusError, ApiException) as err:
        return [inconclusive(name, expected, f"{type(err).__name__}: {err}", run.window)]
    hpas = {s["deployment"]: {"cpu_target_pct": s["cpu_target_pct"], "max": s["max"]} for s in specs if s["cpu_target_pct"]}
    ready = run.readiness[run.readiness.kind == "deployment"]
    return [capacity_for_target(steps, run.timeline, samples, ready, hpas,
                                list(run.stack.objectives), target_rps, zones, run.window)]


REQUIRED = {"failover_recovered": ("deployment",), "pdb_respected": ("pdb",), "alert_fired": ("alert", "after"),
            "hpa_scaled_out": ("hpa", "at_least"), "hpa_scaled_in": ("hpa",),
            "alert_can_fire": ("alert",), "capacity_for_target": ("target_rps",)}
CHECKS = {
    "failover_recovered": lambda run, spec: check_failover(run, spec["deployment"], float(spec.get("within_s", 60)),
                                                           spec.get("after")),
    "pdb_respected": lambda run, spec: check_pdb(run, spec["pdb"]),
    "drain_completed": lambda run, spec: check_drain(run),
    "longest_outage": lambda run, spec: check_outage(run, float(spec.get("max_s", 0))),
    "failed_requests": lambda run, spec: check_failed_requests(run, int(spec.get("max", 0)),
                                                               tuple(spec.get("except", ()))),
    "slo_client": lambda run, spec: check_slo_client(run),
    "slo_server": lambda run, spec: check_slo_server(run),
    "slo_agreement": lambda run, spec: check_slo_agreement(run, float(spec.get("max_gap", 0.01))),
    "hpa_scaled_out": lambda run, spec: check_hpa_out(run, spec["hpa"], int(spec["at_least"]),
                                                      float(spec.get("within_s", 300))),
    "hpa_scaled_in": lambda run, spec: check_hpa_in(run, spec["hpa"]),
    "alert_fired": lambda run, spec: check_alert(run, spec["alert"], spec["after"], float(spec.get("detection_s", 0)),
                                                 spec.get("resolved_after"), spec.get("labels") or {}),
    "alert_can_fire": lambda run, spec: check_alert_can_fire(run, spec["alert"]),
    "capacity_for_target": lambda run, spec: check_capacity(run, float(spec["target_rps"])),
    # the alerts of the experiment's alert_fired checks are the expected ones
    "no_unexpected_critical_alert": lambda run, spec: check_unexpected_alerts(
        run, {s["alert"] for s in run.specs if s["check"] == "alert_fired"}),
}


# the evidence each verdict rests on (by name prefix): a pass with a hole in it is no pass
SOURCES = {"failover_recovered": ("readiness",), "pdb_respected": ("readiness",), "hpa_scaled": ("readiness",),
           "longest_outage": ("load",), "failed_requests": ("load",), "slo_client": ("load",),
           "slo_server": ("prometheus",), "slo_agreement": ("load", "prometheus"), "alert_resolved": ("prometheus",),
           "no_unexpected_critical_alert": ("prometheus",), "capacity_for_target": ("load", "readiness", "prometheus")}


# a comparison of two sources fails on a hole in either (one side counted longer): not a finding
EITHER_WAY = ("slo_agreement",)


def with_coverage(run: Run, verdict: Verdict) -> Verdict:
    """A pass judged on a source that has a hole becomes inconclusive, the hole named; a fail
    stands (seen is seen), but for comparisons a hole can make on its own. An inconclusive
    verdict gets the hole added to its reason: it is likely why the data was missing."""
    if verdict.status == FAIL and not verdict.name.startswith(EITHER_WAY):
        return verdict
    sources = next((s for prefix, s in SOURCES.items() if verdict.name.startswith(prefix)), ())
    inside = (lambda h: h.end > verdict.window.start.timestamp() and h.start < verdict.window.end.timestamp()) \
        if verdict.window else (lambda h: True)   # a hole outside what the verdict judged does not matter
    found = "; ".join(str(hole) for source in sources for hole in run.holes(source) if inside(hole))
    if not found:
        return verdict
    if verdict.status == INCONCLUSIVE:
        return replace(verdict, reason=f"{verdict.reason} ({found})")
    return replace(verdict, status=INCONCLUSIVE, reason=f"{verdict.status}ed on data with a hole in it: {found}")


def judge_run(run_dir: Path, experiment: dict, source: str, stack: Stack) -> Iterator[Verdict]:
    """The verdicts one by one, as each is judged (some query Prometheus)."""
    run = Run(run_dir, stack, verdict_specs(experiment, source))
    yield from steady_state(run)
    for spec in run.specs:
        try:
            yield from (with_coverage(run, v) for v in CHECKS[spec["check"]](run, spec))
        except Exception as err:  # a check that breaks costs its verdict, not the others
            yield inconclusive(spec["check"], "judged", f"the check failed: {type(err).__name__}: {err}", run.window,
                               evidence=spec)
