"""What each check of core.checks does with a finished run: one function per check, bound to its
declaration by `@judges(CHECK)`, taking the Run and the check's decoded spec and returning its
verdicts. They fetch what the run directory lacks (Prometheus, the live HPA) and hand frames to
the pure verdict functions of probes/; an unreachable source is inconclusive, never a pass.
"""

from collections.abc import Callable
from dataclasses import replace

import pandas as pd
from kubernetes.client import ApiException

from core import checks as declared
from core.checks import Asked, Check
from core.guardrails import Guardrail
from core.load_stats import judge_thresholds, window_stats
from core.verdict import FAIL, INCONCLUSIVE, Verdict, Window, inconclusive, judged, utc
from edge.kube import API_ERRORS, missing, worker_zones
from edge.prometheus import Prometheus, PrometheusError
from edge.rundir import GUARDRAIL_COLUMNS, RunDir
from edge.stack import Stack
from gameday.coverage import Hole, source_holes
from gameday.record import deployment_samples
from core.ledger import (acknowledged_writes_lost, cache_ledger, failover_time, rejoin_time, split_brain, stale_reads,
                         unacknowledged_writes_applied)
from probes.alerts import alert_can_fire, alert_fired, alert_resolved, alert_timeline, rule_timing, unexpected_critical_alerts
from probes.capacity import capacity_for_target, load_steps
from probes.delivery import delivery_verdict
from probes.drain import drain_completed, pdbs_disjoint
from probes.failover import failed_requests, failover_recovered, longest_outage_s, pdb_respected, slowest_request
from probes.guardrails import guardrail_held
from probes.hpa import hpa_scaled_in, hpa_scaled_out, hpa_spec, target_crossed_at
from probes.reachability import reachability
from probes.slo import server_counts, slo_agreement, slo_error_ratio, slo_latency
from probes.zone_loss import (capacity_margin, none_pending_for_capacity, zone_loss_budgets_held, zone_loss_rescheduled,
                              zone_spread_held)


class Run:
    """A finished run as a check sees it: its directory (journal, samples, timeline), the stack it
    ran against, the checks it asks for, and the method's faults with their times."""

    def __init__(self, run_dir: RunDir, stack: Stack, asked: list[Asked], guardrails: list[Guardrail] = ()):
        self.dir, self.stack, self.asked, self.guardrails = run_dir, stack, asked, list(guardrails)
        if run_dir.window is None:
            raise ValueError(f"{run_dir.path}: no journal with a start and an end: the run was never made")
        self.window = run_dir.window
        self.actions = run_dir.activities("run")
        # a fault is an action that did its work: one that failed (a node agent refused it, the
        # API refused it) injected nothing, and nothing can be judged as its aftermath
        self.faults = [(r["activity"]["name"], pd.Timestamp(utc(r["start"]))) for r in self.actions
                       if r.get("status") == "succeeded"]
        self.readiness, self.timeline, self.users = run_dir.readiness, run_dir.timeline, run_dir.users
        self._holes: dict[str, list[Hole]] = {}
        self._absent: dict[tuple[str, str], bool] = {}

    def holes(self, source: str) -> list[Hole]:
        """Where `source` recorded nothing, from the method's first activity to the end (before
        it, a settle or the warm-up may rightly precede the load and the sampler)."""
        if source not in self._holes:
            first = min((utc(r["start"]) for r in self.dir.activities("run", kind=None)), default=None)
            window = Window(first, self.window.end) if first is not None and first < self.window.end else self.window
            self._holes[source] = source_holes(self, source, window)
        return self._holes[source]

    def chaos_window(self) -> Window | None:
        if not self.faults:
            return None
        return Window(self.faults[0][1].to_pydatetime(), self.window.end)

    def fault(self, action: str) -> pd.Timestamp | None:
        """When the method's action named `action` started, if it did its work."""
        return next((t for name, t in self.faults if name == action), None)

    def fault_ended(self, action: str) -> pd.Timestamp | None:
        """When the fault's action returned: by then its fault was in effect (a node agent's, say)."""
        return next((pd.Timestamp(utc(r["end"])) for r in self.actions if r["activity"]["name"] == action
                     and r.get("status") == "succeeded"), None)

    def no_fault(self, action: str) -> str:
        """Why there is no fault of the action named `action` to judge the aftermath of."""
        record = next((r for r in self.actions if r["activity"]["name"] == action), None)
        if record is None:
            return f"the journal has no action named {action!r}"
        return f"action {action!r} injected no fault: it {record.get('status')}: {record.get('exception') or ''}".strip()

    def outputs_of(self, func: str, kind: str = "action") -> list[dict]:
        """The journal records of the method's actions (or probes) calling `func` (e.g. drain_node)."""
        return [r for r in self.dir.activities("run", kind) if r["activity"].get("provider", {}).get("func") == func]

    def event(self, kinds: tuple[str, ...], after: float = 0) -> dict | None:
        """The first event of events.jsonl of one of `kinds` at or after `after` (unix time)."""
        return next((e for e in self.dir.events if e.get("event") in kinds and e.get("t", 0) >= after), None)

    def watched(self) -> Window | None:
        """What the guardrails watched: from the method's start to the rollbacks' (or the halt, or the end)."""
        started = self.event(("method-started",))
        if started is None:
            return None
        over = self.event(("halted", "rollbacks-started", "experiment-ended"), started["t"])
        end = over["t"] if over else self.window.end.timestamp()
        return Window.from_epoch(started["t"], end) if end > started["t"] else None

    def asked_for(self, check: Check) -> list:
        """The specs of the entries asking for `check`."""
        return [a.spec for a in self.asked if a.check is check]

    def absent(self, kind: str, name: str) -> bool:
        """Whether the API says the stack's `kind` named `name` is not there (read once a run)."""
        if (kind, name) not in self._absent:
            self._absent[(kind, name)] = bool(missing(self.stack.kube_context, self.stack.namespace, [(kind, name)]))
        return self._absent[(kind, name)]


JUDGES: dict[str, Callable[[Run, object], list[Verdict]]] = {}


def judges(check: Check):
    """Binds the decorated function to the declared check: judge_run calls it for each entry."""
    def bind(fn):
        if check.name in JUDGES:
            raise ValueError(f"check {check.name} is judged twice: {JUDGES[check.name].__name__} and {fn.__name__}")
        JUDGES[check.name] = fn
        return fn
    return bind


KINDS = {"deployment": "Deployment", "hpa": "HPA", "pdb": "PDB", "service": "Service"}


def absent_is_a_finding(run: Run, verdict: Verdict, kind: str, name: str) -> Verdict:
    """No data about an object the API says does not exist is no missing data: the stack (or the
    experiment) names something that is not there. No data about one that exists stays inconclusive."""
    try:
        if verdict.status != INCONCLUSIVE or not run.absent(kind, name):
            return verdict
    except API_ERRORS:  # the API cannot say: the verdict stays what the data made it
        return verdict
    return replace(verdict, status=FAIL, observed=f"no {KINDS[kind]} {name} in {run.stack.namespace}",
                   reason=f"the game day names {KINDS[kind]} {name}; there is none")


@judges(declared.STACK_PRESENT)
def judge_stack_present(run: Run, spec: declared.NoFields) -> list[Verdict]:
    stack = run.stack
    named = [(kind, name) for kind, names in (("deployment", stack.deployments), ("hpa", stack.hpas),
                                              ("pdb", stack.pdbs), ("service", stack.services)) for name in names]
    expected = f"the {len(named)} objects {stack.source.name} names exist in {stack.namespace}"
    if not named:  # nothing named is nothing to find: no pass on it
        return [inconclusive("stack_present", expected, f"{stack.source} names no Deployment, HPA, PDB or Service",
                             run.window)]
    try:
        gone = missing(stack.kube_context, stack.namespace, named)
    except API_ERRORS as err:
        return [inconclusive("stack_present", expected, f"the API could not say: {type(err).__name__}: {err}",
                             run.window)]
    listed = ", ".join(f"{KINDS[k]} {n}" for k, n in gone)
    return [judged("stack_present", not gone, expected, f"absent: {listed}" if gone else f"all {len(named)} there",
                   run.window, evidence={"named": [f"{KINDS[k]} {n}" for k, n in named]},
                   reason=f"the stack names {listed}; there is none" if gone else "")]


@judges(declared.GUARDRAIL_HELD)
def judge_guardrails(run: Run, spec: declared.NoFields) -> list[Verdict]:
    watched, halted = run.watched(), run.event(("halted",))
    samples = run.dir.guardrails
    verdicts = []
    for guardrail in run.guardrails:
        mine = samples[samples.guardrail == guardrail.expr] if samples is not None else pd.DataFrame(columns=GUARDRAIL_COLUMNS)
        if watched is not None:
            mine = mine[(mine.t >= watched.start.timestamp()) & (mine.t <= watched.end.timestamp())]
        verdicts.append(guardrail_held(guardrail, mine.sort_values("t"), watched,
                                       halted if halted and halted["guardrail"] == guardrail.expr else None))
    return verdicts


@judges(declared.FAILOVER_RECOVERED)
def judge_failover(run: Run, spec: declared.FailoverRecovered) -> list[Verdict]:
    """One verdict per fault (each judged until the next action), or only after the action named
    `after` (the fault; later actions such as restarting a node belong to its recovery)."""
    end = pd.Timestamp(run.window.end)
    if spec.after is None:
        times = [t for _, t in run.faults]
        faults = list(zip([f for f, _ in run.faults], times, times[1:] + [end]))
    else:
        faults = [(spec.after, run.fault(spec.after), end)] if run.fault(spec.after) is not None else []
    if run.readiness is None or not faults:
        return [absent_is_a_finding(run, inconclusive(
            "failover_recovered", f"recovered within {spec.within_s:.0f} s",
            "no readiness samples" if run.readiness is None else
            run.no_fault(spec.after) if spec.after else "no fault was injected",
            run.window, subject=spec.deployment), "deployment", spec.deployment)]
    return [absent_is_a_finding(run, replace(failover_recovered(
        run.readiness, spec.deployment, start, Window(start.to_pydatetime(), end.to_pydatetime()), spec.within_s),
        after=fault), "deployment", spec.deployment) for fault, start, end in faults]


@judges(declared.PDB_RESPECTED)
def judge_pdb(run: Run, spec: declared.PdbRespected) -> list[Verdict]:
    window = run.chaos_window() or run.window
    if run.readiness is None:
        return [absent_is_a_finding(run, inconclusive("pdb_respected", "ready ≥ minAvailable", "no readiness samples",
                                                      window, subject=spec.pdb), "pdb", spec.pdb)]
    verdict = absent_is_a_finding(run, pdb_respected(run.readiness, spec.pdb, window), "pdb", spec.pdb)
    drains = [r["output"] for r in run.outputs_of("drain_node") if isinstance(r.get("output"), dict)]
    if not drains or verdict.status == INCONCLUSIVE:
        return [verdict]
    # the evictions this budget refused are the budget at work: counted with its verdict
    refused = sum(d.get("refused_by_pdb", {}).get(spec.pdb, 0) for d in drains)
    return [replace(verdict, observed=f"{verdict.observed}; {refused} eviction(s) refused (HTTP 429) and retried",
                    details={**verdict.details, "refused_evictions": refused})]


@judges(declared.DRAIN_COMPLETED)
def judge_drain(run: Run, spec: declared.NoFields) -> list[Verdict]:
    """Every drain the method ran left its node empty of evictable pods."""
    records = run.outputs_of("drain_node")
    if not records:
        return [inconclusive("drain_completed", "the drained node emptied", "the method ran no drain_node", run.window)]
    return [drain_completed(r) for r in records]


@judges(declared.PDBS_DISJOINT)
def judge_pdbs_disjoint(run: Run, spec: declared.NoFields) -> list[Verdict]:
    """From the first drain in each namespace: the PDBs as the method found them."""
    records = run.outputs_of("drain_node")
    if not records:
        return [inconclusive("pdbs_disjoint", "no pod under more than one PDB", "the method ran no drain_node",
                             run.window)]
    first = {}
    for record in records:
        out = record.get("output")
        first.setdefault(out.get("namespace") if isinstance(out, dict) else None, record)
    return [pdbs_disjoint(r) for r in first.values()]


@judges(declared.LONGEST_OUTAGE)
def judge_outage(run: Run, spec: declared.LongestOutage) -> list[Verdict]:
    expected = f"no stretch without a successful response longer than {spec.max_s:.0f} s"
    window = run.chaos_window() or run.window
    if run.timeline is None or run.timeline.empty:
        return [inconclusive("longest_outage", expected, "Locust recorded nothing", window)]
    seconds, at = longest_outage_s(run.timeline, window)
    observed = f"{seconds} s" + (f" from {pd.Timestamp(at, unit='s', tz='UTC').isoformat()}" if at else "")
    return [judged("longest_outage", seconds <= spec.max_s, expected, observed, window,
                   evidence={"seconds": seconds, "from": at}, longest_outage_s=seconds,
                   reason="" if seconds <= spec.max_s else f"clients saw {seconds} s without a successful response")]


@judges(declared.FAILED_REQUESTS)
def judge_failed_requests(run: Run, spec: declared.FailedRequests) -> list[Verdict]:
    window = run.chaos_window() or run.window
    if run.timeline is None:
        return [inconclusive("failed_requests", f"≤ {spec.max} failed requests", "no Locust timeline", window)]
    return [failed_requests(run.timeline, window, spec.max, spec.except_)]


@judges(declared.SLOWEST_REQUEST)
def judge_slowest_request(run: Run, spec: declared.SlowestRequest) -> list[Verdict]:
    window = run.chaos_window() or run.window
    if run.timeline is None:
        return [inconclusive("slowest_request", f"no {spec.endpoint} request slower than {spec.max_s:g} s",
                             "no Locust timeline", window, subject=spec.endpoint)]
    return [slowest_request(run.timeline, window, spec.endpoint, spec.max_s)]


@judges(declared.REACHABILITY)
def judge_reachability(run: Run, spec: declared.NoFields) -> list[Verdict]:
    """Each reachability_matrix probe of the method: its matrix against what each path expects."""
    records = run.outputs_of("reachability_matrix", kind="probe")
    if not records:
        return [inconclusive("reachability", "paths open or blocked as expected",
                             "the method ran no reachability_matrix probe", run.window)]
    return [reachability(r) for r in records]


@judges(declared.SLO_CLIENT)
def judge_slo_client(run: Run, spec: declared.NoFields) -> list[Verdict]:
    exprs = [o.expr for o in run.stack.objectives]
    if run.timeline is None:
        return [inconclusive("slo_client", ", ".join(exprs), "no Locust timeline", run.window)]
    return judge_thresholds(run.timeline, exprs, run.window)


@judges(declared.SLO_SERVER)
def judge_slo_server(run: Run, spec: declared.NoFields) -> list[Verdict]:
    prom, selector, verdicts = Prometheus(run.stack.prometheus_url), run.stack.server_selector, []
    for objective in run.stack.objectives:
        if objective.metric == "error_ratio":
            verdicts.append(slo_error_ratio(prom, run.window, objective.limit, selector))
        elif objective.quantile is not None:
            verdicts.append(slo_latency(prom, run.window, objective.quantile, objective.limit, selector))
    return verdicts


@judges(declared.SLO_AGREEMENT)
def judge_slo_agreement(run: Run, spec: declared.SloAgreement) -> list[Verdict]:
    stats = window_stats(run.timeline, run.window) if run.timeline is not None else None
    try:
        requests, errors = server_counts(Prometheus(run.stack.prometheus_url), run.window, run.stack.server_selector)
    except PrometheusError as err:
        return [inconclusive("slo_agreement", "client and server error ratios agree", str(err), run.window)]
    return [slo_agreement(stats.requests if stats else 0, stats.failures if stats else 0, requests, errors,
                          run.window, spec.max_gap)]


@judges(declared.ALERT_FIRED)
def judge_alert(run: Run, spec: declared.AlertFired) -> list[Verdict]:
    """alert_fired (time to fire measured against the rule's own budget), alert_resolved after the
    restore, and both notifications delivered to the receiver when the stack names an alert sink.
    The spec's labels narrow the alert to the instances the fault concerns (e.g. its namespace)."""
    fault_at = run.fault(spec.after)
    restored_at = run.fault(spec.resolved_after) if spec.resolved_after else None
    window = run.chaos_window() or run.window
    missing = [a for a, t in ((spec.after, fault_at), (spec.resolved_after, restored_at)) if a and t is None]
    expected = f"{spec.alert} fires after {spec.after}"
    if missing:
        return [inconclusive("alert_fired", expected, run.no_fault(missing[0]), window, subject=spec.alert)]
    try:
        prom = Prometheus(run.stack.prometheus_url)
        timing = rule_timing(prom, spec.alert)
        timeline = alert_timeline(prom, run.window, labels={**spec.labels, "alertname": spec.alert})
    except PrometheusError as err:
        return [inconclusive("alert_fired", expected, str(err), window, subject=spec.alert)]
    verdicts = [alert_fired(timeline, spec.alert, fault_at, spec.detection_s, timing, window)]
    if restored_at is not None:
        verdicts.append(alert_resolved(timeline, spec.alert, restored_at, window))
    if run.stack.alert_sink_url:
        statuses = ("firing", "resolved") if restored_at is not None else ("firing",)
        verdicts += [delivery_verdict(run.stack.alert_sink_url, spec.alert, window, status, spec.labels)
                     for status in statuses]
    return verdicts


@judges(declared.ALERT_CAN_FIRE)
def judge_alert_can_fire(run: Run, spec: declared.AlertCanFire) -> list[Verdict]:
    """Whether the loaded rule's expression names only metrics Prometheus has: a rule that cannot
    fire is silent however bad things get."""
    prom = Prometheus(run.stack.prometheus_url)
    try:
        expr = rule_timing(prom, spec.alert)["expr"]
    except PrometheusError as err:
        return [inconclusive("alert_can_fire", "every metric the expression names exists", str(err), run.window,
                             subject=spec.alert)]
    return [alert_can_fire(prom, spec.alert, expr, run.window)]


@judges(declared.NO_UNEXPECTED_CRITICAL_ALERT)
def judge_unexpected_alerts(run: Run, spec: declared.NoFields) -> list[Verdict]:
    expected = {s.alert for s in run.asked_for(declared.ALERT_FIRED)}  # the experiment's alert_fired are expected
    try:
        timeline = alert_timeline(Prometheus(run.stack.prometheus_url), run.window)
    except PrometheusError as err:
        return [inconclusive("no_unexpected_critical_alert", "no unexpected critical alert", str(err), run.window)]
    return [unexpected_critical_alerts(timeline, expected, run.window)]


def _hpa(run: Run, check: str, hpa: str, expected: str, judge) -> list[Verdict]:
    """Fetches the HPA's live spec, then judges; an unreachable API or Prometheus is inconclusive,
    an HPA that is not there a finding."""
    if run.readiness is None:
        verdict = inconclusive(check, expected, "no readiness samples", run.window, subject=hpa)
    else:
        try:
            return [judge()]
        except (PrometheusError, ApiException) as err:
            verdict = inconclusive(check, expected, f"{type(err).__name__}: {err}", run.window, subject=hpa)
    return [absent_is_a_finding(run, verdict, "hpa", hpa)]


@judges(declared.HPA_SCALED_OUT)
def judge_hpa_out(run: Run, spec: declared.HpaScaledOut) -> list[Verdict]:
    def judge():
        hpa = hpa_spec(run.stack.namespace, spec.hpa, run.stack.kube_context)
        crossed = target_crossed_at(Prometheus(run.stack.prometheus_url), run.stack.namespace, spec.hpa, run.window)
        return hpa_scaled_out(run.readiness, hpa["deployment"], crossed, spec.at_least, spec.within_s, run.window)
    return _hpa(run, "hpa_scaled_out", spec.hpa, f"≥ {spec.at_least} replicas within {spec.within_s:.0f} s", judge)


@judges(declared.HPA_SCALED_IN)
def judge_hpa_in(run: Run, spec: declared.HpaScaledIn) -> list[Verdict]:
    def judge():
        hpa = hpa_spec(run.stack.namespace, spec.hpa, run.stack.kube_context)
        return hpa_scaled_in(run.readiness, hpa["deployment"], hpa["min"], hpa["scale_down_stabilization_s"],
                             run.window)
    return _hpa(run, "hpa_scaled_in", spec.hpa, "scaled in after the stabilization window", judge)


@judges(declared.CAPACITY_FOR_TARGET)
def judge_capacity(run: Run, spec: declared.CapacityForTarget) -> list[Verdict]:
    subject, expected = f"{spec.target_rps:g} rps", "a capacity model from a step-load run"
    if run.timeline is None or run.readiness is None or run.users is None:
        return [inconclusive("capacity_for_target", expected, "no Locust timeline, user history or readiness samples",
                             run.window, subject=subject)]
    steps = load_steps(run.users)
    try:
        span = Window.from_epoch(steps[0].start, steps[-1].end) if steps else run.window
        samples = deployment_samples(run.stack, span)
        specs = [hpa_spec(run.stack.namespace, hpa, run.stack.kube_context) for hpa in run.stack.hpas]
        zones = len(set(worker_zones(run.stack.kube_context).values()))
    except (PrometheusError, ApiException) as err:
        return [inconclusive("capacity_for_target", expected, f"{type(err).__name__}: {err}", run.window,
                             subject=subject)]
    hpas = {s["deployment"]: {"cpu_target_pct": s["cpu_target_pct"], "max": s["max"]} for s in specs if s["cpu_target_pct"]}
    ready = run.readiness[run.readiness.kind == "deployment"]
    return [capacity_for_target(steps, run.timeline, samples, ready, hpas,
                                list(run.stack.objectives), spec.target_rps, zones, run.window)]


def _ledger(run: Run, check: str, expected: str, readback: bool = True, store: str = "database") -> list[Verdict]:
    """Why the writers' ledger (and the store's read-back) cannot be judged, as an inconclusive; [] if it can."""
    if run.dir.ledger is None:
        why = "no write ledger: the load had no writers (profile field `writers`)"
    elif readback and _readback(run, store) is None:
        why = f"no read-back of the {store}: the run ended before its control read the orders back"
    else:
        return []
    return [inconclusive(check, expected, why, run.window)]


def _readback(run: Run, store: str):
    return run.dir.cache_readback if store == "cache" else run.dir.readback


@judges(declared.ACKNOWLEDGED_WRITES_LOST)
def judge_writes_lost(run: Run, spec: declared.WritesLost) -> list[Verdict]:
    """The database's: the orders it committed; the cache's: those the cache took too."""
    if unjudged := _ledger(run, "acknowledged_writes_lost", "every acknowledged write read back", store=spec.store):
        return unjudged
    ledger = cache_ledger(run.dir.ledger) if spec.store == "cache" else run.dir.ledger
    tolerated = None
    if spec.tolerated_after is not None:
        if (fault_at := run.fault(spec.tolerated_after)) is None:
            return [inconclusive("acknowledged_writes_lost", "every acknowledged write read back",
                                 run.no_fault(spec.tolerated_after), run.window)]
        # from the action's start to tolerated_s after its end: when the fault took effect is in between
        tolerated = (fault_at.timestamp(), run.fault_ended(spec.tolerated_after).timestamp() + spec.tolerated_s)
    return [acknowledged_writes_lost(ledger, _readback(run, spec.store), run.window, tolerated)]


@judges(declared.UNACKNOWLEDGED_WRITES_APPLIED)
def judge_unacknowledged_applied(run: Run, spec: declared.NoFields) -> list[Verdict]:
    return _ledger(run, "unacknowledged_writes_applied", "unacknowledged writes read back: reported") or \
        [unacknowledged_writes_applied(run.dir.ledger, run.dir.readback, run.window)]


@judges(declared.FAILOVER_TIME)
def judge_failover_time(run: Run, spec: declared.FailoverTime) -> list[Verdict]:
    expected = f"a new primary acknowledges writes within {spec.within_s:g} s of the fault"
    fault_at = run.fault(spec.after)
    if fault_at is None:
        return [inconclusive("failover_time", expected, run.no_fault(spec.after), run.window, after=spec.after)]
    return _ledger(run, "failover_time", expected, readback=False) or \
        [replace(failover_time(run.dir.ledger, fault_at.timestamp(), spec.within_s, run.window, _members(run)),
                 after=spec.after)]


def _members(run: Run) -> dict[str, str]:
    """Pod IP -> pod name, from the sampler's role lines (what the database servers are)."""
    samples = run.readiness
    if samples is None or "ip" not in samples.columns:
        return {}
    rows = samples[(samples.kind == "role") & samples.ip.notna() & (samples.ip != "")]
    return dict(zip(rows.ip, rows.name.str.split("/", n=1).str[1]))


@judges(declared.STALE_READS)
def judge_stale_reads(run: Run, spec: declared.StaleReads) -> list[Verdict]:
    expected = f"an acknowledged write visible on the replicas within {spec.max_lag_s:g} s"
    if run.dir.reads is None:
        return _ledger(run, "stale_reads", expected, readback=False) or [inconclusive(
            "stale_reads", expected, "no replica read: load/reads.jsonl missing (no order acknowledged?)", run.window)]
    return [stale_reads(run.dir.reads, spec.max_lag_s, run.window)]


def _roles(run: Run, group: str, check: str, expected: str) -> pd.DataFrame | Verdict:
    """The sampler's role lines of an elected group (t, pod, role, ready), or why there are none."""
    if group not in run.stack.elected:
        return inconclusive(check, expected, f"{run.stack.source} names no elected group {group!r} "
                            f"(known: {', '.join(run.stack.elected) or 'none'})", run.window, subject=group)
    samples = run.readiness
    rows = samples[(samples.kind == "role") & samples.name.str.startswith(f"{group}/")] \
        if samples is not None else pd.DataFrame(columns=["t", "name", "role", "ready"])
    return pd.DataFrame({"t": rows.t, "pod": rows.name.str.split("/", n=1).str[1], "role": rows.role.fillna(""),
                         "ready": rows.ready.astype(object)})


@judges(declared.SPLIT_BRAIN)
def judge_split_brain(run: Run, spec: declared.SplitBrain) -> list[Verdict]:
    roles = _roles(run, spec.group, "split_brain", f"at most one pod of {spec.group} labelled leader at any instant")
    if isinstance(roles, Verdict):
        return [roles]
    return [replace(split_brain(roles, run.window, run.stack.elected[spec.group].leader), subject=spec.group)]


@judges(declared.REJOIN_TIME)
def judge_rejoin_time(run: Run, spec: declared.RejoinTime) -> list[Verdict]:
    """One verdict per pod the action names (kill_pods returns their names)."""
    expected = f"the pods {spec.after} took back and ready within {spec.within_s:g} s"
    fault_at = run.fault(spec.after)
    if fault_at is None:
        return [inconclusive("rejoin_time", expected, run.no_fault(spec.after), run.window, after=spec.after)]
    roles = _roles(run, spec.group, "rejoin_time", expected)
    if isinstance(roles, Verdict):
        return [roles]
    pods = next((r.get("output") for r in run.actions if r["activity"]["name"] == spec.after), None)
    if not isinstance(pods, list) or not pods or not all(isinstance(p, str) for p in pods):
        return [inconclusive("rejoin_time", expected, f"action {spec.after!r} names no pod it took (its output: "
                             f"{pods!r}; kill_pods names them)", run.window, after=spec.after)]
    return [replace(rejoin_time(roles, pod, fault_at.timestamp(), spec.within_s, run.window), after=spec.after)
            for pod in pods]


def _zone_loss(run: Run, check: str, expected: str, verdict: Callable[[dict], Verdict]) -> list[Verdict]:
    """Each zone loss the method watched (probes.zone_loss.zone_loss_observed), judged by `verdict`."""
    records = run.outputs_of("zone_loss_observed", kind="probe")
    if not records:
        return [inconclusive(check, expected, "the method watched no zone loss (zone_loss_observed)", run.window)]
    verdicts = [verdict(r["output"]) if r.get("status") == "succeeded" and isinstance(r.get("output"), dict) else
                inconclusive(check, expected, _watch_unfinished(r), Window(utc(r["start"]), utc(r["end"])))
                for r in records]
    return [for_target_rate(v, copy) for v in verdicts] if (copy := _copy_for_target(run)) else verdicts


def _watch_unfinished(record: dict) -> str:
    if record.get("exception"):
        return f"the zone-loss watch failed: {''.join(record['exception'][-1:]).strip()}"
    return (f"the zone-loss watch returned no evidence after {record.get('duration', 0):.0f} s (status "
            f"{record.get('status') or 'none: the run was interrupted'})")


def _copy_for_target(run: Run) -> dict | None:
    """What deploy_scaled_copy made when a capacity model sized the copy for a target rate."""
    made = [r.get("output") for r in run.outputs_of("deploy_scaled_copy")]
    return next((m for m in made if isinstance(m, dict) and m.get("target_rps")), None)


def for_target_rate(verdict: Verdict, copy: dict) -> Verdict:
    """A zone-loss verdict over a copy sized for a target rate answers for that rate: its subject
    says so and its details say how the copy was sized."""
    return replace(verdict, subject=f"{verdict.subject} at {copy['target_rps']:g} rps".strip(),
                   details={**(verdict.details or {}), "sized": copy["sized"]})


@judges(declared.ZONE_LOSS_RESCHEDULED)
def judge_zone_loss_rescheduled(run: Run, spec: declared.ZoneLossRescheduled) -> list[Verdict]:
    return _zone_loss(run, "zone_loss_rescheduled", "every pod of the lost zone replaced",
                      lambda ev: zone_loss_rescheduled(ev, spec.within_s))


@judges(declared.NONE_PENDING_FOR_CAPACITY)
def judge_none_pending_for_capacity(run: Run, spec: declared.NoFields) -> list[Verdict]:
    return _zone_loss(run, "none_pending_for_capacity", "no pod Pending for want of room", none_pending_for_capacity)


@judges(declared.ZONE_SPREAD_HELD)
def judge_zone_spread_held(run: Run, spec: declared.NoFields) -> list[Verdict]:
    return _zone_loss(run, "zone_spread_held", "spreads within maxSkew over the zones left", zone_spread_held)


@judges(declared.ZONE_LOSS_BUDGETS_HELD)
def judge_zone_loss_budgets_held(run: Run, spec: declared.NoFields) -> list[Verdict]:
    return _zone_loss(run, "zone_loss_budgets_held", "every PDB at or above its floor", zone_loss_budgets_held)


@judges(declared.CAPACITY_MARGIN)
def judge_capacity_margin(run: Run, spec: declared.CapacityMargin) -> list[Verdict]:
    return _zone_loss(run, "capacity_margin", f"at least {spec.min_margin:.0%} free",
                      lambda ev: capacity_margin(ev, spec.min_margin))
