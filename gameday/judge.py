"""Judges a finished run: the verdicts an experiment asks for (its `kube-gameday` extension),
computed from the run's artifacts (Chaos Toolkit journal, readiness samples, Locust timeline)
and Prometheus, plus the steady-state hypothesis as the journal recorded it. Gate on these, not
on `chaos run`'s exit code: a failed before-hypothesis exits 0."""

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from gameday.stack import Stack
from loadtests.results import judge_thresholds, load_timeline
from probes.failover import failover_recovered, load_readiness, longest_outage_s, pdb_respected
from probes.prometheus import Prometheus
from probes.slo import slo_error_ratio, slo_latency
from probes.verdict import Verdict, Window, inconclusive, judged

EXTENSION = "kube-gameday"


class ExperimentError(ValueError):
    """The experiment's kube-gameday extension is missing or asks for something unknown."""


def verdict_specs(experiment: dict, source: str) -> list[dict]:
    for ext in experiment.get("extensions") or []:
        if ext.get("name") == EXTENSION:
            specs = ext.get("verdicts")
            if not isinstance(specs, list) or not all(isinstance(s, dict) and "check" in s for s in specs):
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


def utc(text: str) -> pd.Timestamp:
    ts = pd.Timestamp(text)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class Run:
    """What a finished run left in its directory."""

    def __init__(self, run_dir: Path, stack: Stack):
        self.dir, self.stack = run_dir, stack
        self.journal = json.loads((run_dir / "journal.json").read_text())
        self.window = Window(utc(self.journal["start"]).to_pydatetime(), utc(self.journal["end"]).to_pydatetime())
        # the method's actions, each with its start: the faults
        self.faults = [(r["activity"]["name"], utc(r["start"])) for r in self.journal.get("run") or []
                       if r["activity"].get("type") == "action"]
        readiness = run_dir / "readiness.jsonl"
        self.readiness = load_readiness(readiness) if readiness.exists() else None
        timeline = run_dir / "load" / "timeline.jsonl"
        self.timeline = load_timeline(timeline) if timeline.exists() else None

    def chaos_window(self) -> Window | None:
        if not self.faults:
            return None
        return Window(self.faults[0][1].to_pydatetime(), self.window.end)


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


def check_failover(run: Run, deployment: str, within_s: float) -> list[Verdict]:
    if run.readiness is None or not run.faults:
        return [inconclusive(f"failover_recovered[{deployment}]", f"recovered within {within_s:.0f} s",
                             "no readiness samples" if run.readiness is None else "no fault was injected",
                             run.window)]
    ends = [t for _, t in run.faults[1:]] + [utc(run.journal["end"])]
    return [replace(v, name=f"{v.name} after {fault}") for (fault, start), end in zip(run.faults, ends)
            for v in [failover_recovered(run.readiness, deployment, start,
                                         Window(start.to_pydatetime(), end.to_pydatetime()), within_s)]]


def check_pdb(run: Run, pdb: str) -> list[Verdict]:
    window = run.chaos_window() or run.window
    if run.readiness is None:
        return [inconclusive(f"pdb_respected[{pdb}]", "ready ≥ minAvailable", "no readiness samples", window)]
    return [pdb_respected(run.readiness, pdb, window)]


def check_outage(run: Run, max_s: float = 0) -> list[Verdict]:
    name, expected = "longest_outage", f"no stretch without a successful response longer than {max_s:.0f} s"
    window = run.chaos_window() or run.window
    if run.timeline is None or run.timeline.empty:
        return [inconclusive(name, expected, "Locust recorded nothing", window)]
    seconds, at = longest_outage_s(run.timeline, window)
    observed = f"{seconds} s" + (f" from {pd.Timestamp(at, unit='s', tz='UTC').isoformat()}" if at else "")
    return [judged(name, seconds <= max_s, expected, observed, window, evidence={"seconds": seconds, "from": at},
                   reason="" if seconds <= max_s else f"clients saw {seconds} s without a successful response")]


def check_slo_client(run: Run) -> list[Verdict]:
    exprs = [o.expr for o in run.stack.objectives]
    if run.timeline is None:
        return [inconclusive("slo_client", ", ".join(exprs), "no Locust timeline", run.window)]
    return judge_thresholds(run.timeline, exprs, run.window)


def check_slo_server(run: Run) -> list[Verdict]:
    prom, selector, verdicts = Prometheus(run.stack.prometheus_url), run.stack.server_selector, []
    for objective in run.stack.objectives:
        if objective.metric == "error_ratio":
            verdicts.append(slo_error_ratio(prom, run.window, objective.limit, selector))
        elif objective.quantile is not None:
            verdicts.append(slo_latency(prom, run.window, objective.quantile, objective.limit, selector))
    return verdicts


REQUIRED = {"failover_recovered": ("deployment",), "pdb_respected": ("pdb",)}
CHECKS = {
    "failover_recovered": lambda run, spec: check_failover(run, spec["deployment"], float(spec.get("within_s", 60))),
    "pdb_respected": lambda run, spec: check_pdb(run, spec["pdb"]),
    "longest_outage": lambda run, spec: check_outage(run, float(spec.get("max_s", 0))),
    "slo_client": lambda run, spec: check_slo_client(run),
    "slo_server": lambda run, spec: check_slo_server(run),
}


def judge_run(run_dir: Path, experiment: dict, source: str, stack: Stack) -> list[Verdict]:
    run = Run(run_dir, stack)
    verdicts = steady_state(run)
    for spec in verdict_specs(experiment, source):
        verdicts += CHECKS[spec["check"]](run, spec)
    return verdicts
