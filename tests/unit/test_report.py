"""The report from a run directory alone: every verdict in it, the actions on the time axis,
and what an artifact lacks said in words, not drawn as zero."""

import json

import pandas as pd

from core.load_stats import per_second
from core.verdict import Verdict
from edge.rundir import RunDir
from reports.build import alerts_table, build_report, client_series, fault_windows, load_spans, replicas_chart
from reports.svg import Span, chart, thinned

T0 = 1_800_000_000


def write_run(path, with_timeline=True):
    (path / "load").mkdir(parents=True)
    journal = {"experiment": {"title": "Pods die <quickly>"}, "status": "completed",
               "start": "2027-01-15T08:00:00+00:00", "end": "2027-01-15T08:02:00+00:00",
               "run": [{"activity": {"type": "action", "name": "kill-a-pod"},
                        "start": "2027-01-15T08:00:30+00:00", "end": "2027-01-15T08:00:31+00:00"}],
               "rollbacks": []}
    verdicts = {"status": "fail", "error": "", "notes": [], "target": {
        "experiment": "experiments/pod-kill.yaml", "stack": "seed", "stack_file": "stack.yaml",
        "kube_context": "kind-gameday", "namespace": "gameday", "load_profile": "the experiment's own",
        "zones": {"w1": "zone-a"}}, "verdicts": [
        {"name": "failover_recovered[api]", "status": "pass", "expected": "within 60 s", "observed": "in 6.1 s",
         "window": {"start": "2027-01-15T08:00:30+00:00", "end": "2027-01-15T08:02:00+00:00"}, "evidence": None,
         "reason": "", "details": {}},
        {"name": "longest_outage", "status": "fail", "expected": "0 s", "observed": "3 s", "window": None,
         "evidence": {"seconds": 3}, "reason": "clients saw 3 s without a successful response", "details": {}}]}
    (path / "journal.json").write_text(json.dumps(journal))
    (path / "verdicts.json").write_text(json.dumps(verdicts))
    if with_timeline:
        start = 1_800_000_000
        (path / "load" / "timeline.jsonl").write_text("\n".join(json.dumps(
            {"t": start + s, "method": "GET", "name": "/", "requests": 10, "failures": 1, "rt_ms": {"20.0": 9, "900.0": 1}})
            for s in range(5)) + "\n")


def test_the_report_holds_every_verdict_and_the_action(tmp_path):
    write_run(tmp_path)
    text = build_report(tmp_path).read_text()
    for needle in ("failover_recovered[api]", "longest_outage", "clients saw 3 s without a successful response",
                   "kill-a-pod", "Pods die &lt;quickly&gt;", ">FAIL<",
                   "Experiment <code>experiments/pod-kill.yaml</code> against <code>kind-gameday</code>"):
        assert needle in text, needle
    assert "Not in the run directory: readiness.jsonl, prometheus.jsonl" in text
    assert "<script" not in text and "http://" not in text and "https://" not in text  # offline, self-contained


def test_a_run_without_a_timeline_says_so(tmp_path):
    write_run(tmp_path, with_timeline=False)
    assert "load/timeline.jsonl" in build_report(tmp_path).read_text()


def test_client_quantiles_come_from_the_per_second_histogram():
    timeline = pd.DataFrame([{"t": T0, "name": "/", "requests": 10, "failures": 1, "rt_ms": {"20.0": 9, "900.0": 1}}])
    series = client_series(per_second(timeline))
    assert series["traffic"]["requests/s"].to_dict() == {T0: 10} and series["traffic"]["failures/s"].to_dict() == {T0: 1}
    assert series["latency"]["p50"].to_dict() == {T0: 0.02} and series["latency"]["p99"].to_dict() == {T0: 0.9}


def test_alerts_show_when_they_fired_and_whether_expected():
    prom = {"alerts": [
        {"labels": {"alertname": "NodeDown", "alertstate": "firing", "node": "w1", "severity": "critical"},
         "values": [[T0 + 300, 1], [T0 + 305, 1]]},
        {"labels": {"alertname": "NodeDown", "alertstate": "pending", "node": "w1", "severity": "critical"},
         "values": [[T0 + 20, 1]]},
        {"labels": {"alertname": "Noise", "alertstate": "firing", "severity": "warning"}, "values": [[T0, 1]]}]}
    verdicts = [Verdict("alert_fired", "pass", "", "firing 300 s after the fault", details={"bound_s": 335.0},
                        subject="NodeDown").to_dict(),
                Verdict("alert_delivered", "pass", "", "first at ...", subject="NodeDown,firing").to_dict(),
                Verdict("alert_fired", "fail", "", "never fired, never pending", subject="AgentDown").to_dict()]
    silent, first, second = alerts_table(prom, verdicts)
    assert first["alert"] == "NodeDown" and first["expected"] and first["where"] == "node=w1"
    assert (first["pending"], first["firing"], first["last_firing"]) == ("08:00:20", "08:05:00", "08:05:05")
    assert first["verdict"] == "pass: firing 300 s after the fault (bound 335 s); firing notification delivered"
    assert silent["alert"] == "AgentDown" and silent["where"] == "(never pending nor firing)"
    assert silent["verdict"].startswith("fail: never fired")
    assert second["alert"] == "Noise" and not second["expected"]


def test_a_chart_without_data_says_so_and_gaps_break_lines():
    empty = chart("Nothing", {"a": []}, T0, T0 + 60)
    assert "no data recorded" in empty
    gapped = chart("Gap", {"a": [(T0, 1.0), (T0 + 1, None), (T0 + 2, 2.0), (T0 + 3, 2.0)]}, T0, T0 + 60,
                   [Span(T0 + 10, T0 + 20, "kill")])
    assert gapped.count("<polyline") == 2 and "<title>kill</title>" in gapped


def test_a_day_at_one_second_is_thinned_to_the_pixels_keeping_dips_and_spikes():
    day = [(T0 + s, 10.0) for s in range(86_400)]
    day[40_000] = (T0 + 40_000, 500.0)
    day[60_000] = (T0 + 60_000, 0.0)
    day[70_000] = (T0 + 70_000, None)
    kept = thinned(day, T0, T0 + 86_400, 800)
    assert len(kept) <= 4 * 800 + 1
    assert (T0 + 40_000, 500.0) in kept and (T0 + 60_000, 0.0) in kept and (T0 + 70_000, None) in kept
    assert thinned([(T0 - 5, 1.0), (T0, 2.0), (T0 + 70, 3.0)], T0, T0 + 60, 800) == [(T0, 2.0)]  # outside: cut


def run_of(tmp_path, *records, rollbacks=()):
    """A run directory whose journal holds these actions: (name, func, start, end)."""
    def record(name, func, start, end):
        return {"activity": {"type": "action", "name": name, "provider": {"func": func}},
                "start": pd.Timestamp(start, unit="s", tz="UTC").isoformat(),
                "end": pd.Timestamp(end, unit="s", tz="UTC").isoformat()}
    path = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    path.mkdir()
    (path / "journal.json").write_text(json.dumps({
        "start": pd.Timestamp(T0, unit="s", tz="UTC").isoformat(),
        "end": pd.Timestamp(T0 + 600, unit="s", tz="UTC").isoformat(),
        "run": [record(*r) for r in records], "rollbacks": [record(*r) for r in rollbacks]}))
    return RunDir(path)


def test_a_fault_lasts_from_its_action_to_the_first_action_undoing_it(tmp_path):
    run = run_of(tmp_path, ("stop", "stop_nodes", T0 + 60, T0 + 61), ("start", "start_stopped_nodes", T0 + 300, T0 + 305),
                 rollbacks=[("start-again", "start_stopped_nodes", T0 + 590, T0 + 590)])
    (fault,) = fault_windows(run)
    assert (fault.start, fault.end, fault.kind) == (T0 + 60, T0 + 305, "fault") and "until start" in fault.label
    never = fault_windows(run_of(tmp_path, ("drain", "drain_node", T0 + 60, T0 + 80)))
    assert never[0].end == T0 + 600 and "never undone" in never[0].label
    assert fault_windows(run_of(tmp_path, ("kill", "terminate_pods", T0 + 60, T0 + 61))) == []  # nothing left in place


def test_load_above_the_baseline_is_a_span():
    users = pd.DataFrame({"t": range(T0, T0 + 100), "users": [10] * 40 + [40] * 30 + [10] * 30})
    (surge,) = load_spans(users, baseline=10)
    assert (surge.start, surge.end, surge.kind) == (T0 + 40, T0 + 69, "load") and "up to 40" in surge.label
    assert load_spans(pd.DataFrame({"t": range(T0, T0 + 9), "users": [10] * 9}), baseline=10) == []


def test_a_halted_run_says_by_what_and_charts_the_guardrail_against_its_limit(tmp_path):
    write_run(tmp_path)
    record = json.loads((tmp_path / "verdicts.json").read_text())
    record.update(status="halted", halted="guardrail 'ready(api) < 1 for 20s' crossed: ready(api) = 0 (worst)")
    (tmp_path / "verdicts.json").write_text(json.dumps(record))
    samples = [{"t": T0 + 30 + s, "guardrail": "ready(api) < 1 for 20s", "value": 0 if s > 2 else 2} for s in range(25)]
    (tmp_path / "guardrails.jsonl").write_text("".join(json.dumps(row) + "\n" for row in samples))
    text = build_report(tmp_path).read_text()
    assert ">HALTED<" in text and "<strong>Halted:</strong> guardrail &#39;ready(api) &lt; 1 for 20s&#39; crossed" in text
    assert "Guardrail: ready(api) &lt; 1 for 20s" in text and "limit" in text


def test_a_reachability_verdict_shows_its_matrix_path_by_path(tmp_path):
    from probes.reachability import reachability
    cells = [{"source": "gameday/npa-1", "to": "Service gameday/mca", "destination": "10.96.0.20:8080",
              "outcome": outcome, "ms": 2.0, "detail": "", "node": "w1"} for outcome in ("open", "timeout")]
    front = {"from": "app=core-api", "to": "mca", "expect": "open", "missing": "",
             "cells": [{**cells[0], "source": "gameday/core-api-1"}]}
    leaky = {"from": "app=npa", "to": "mca", "expect": "blocked", "missing": "", "cells": cells}
    verdict = reachability({"activity": {"name": "look"}, "status": "succeeded", "start": "2027-01-15T08:00:40+00:00",
                            "end": "2027-01-15T08:00:45+00:00", "output": {"timeout_s": 3, "paths": [front, leaky]}})
    write_run(tmp_path)
    record = json.loads((tmp_path / "verdicts.json").read_text())
    record["verdicts"].append({**verdict.to_dict(), "window": None})
    (tmp_path / "verdicts.json").write_text(json.dumps(record))
    text = build_report(tmp_path).read_text()
    for needle in ("reachability after look", "app=npa", "1 open, 1 timeout", "too-open", "gameday/npa-1",
                   "Service gameday/mca (10.96.0.20:8080)", "as-expected"):
        assert needle in text, needle


def test_the_load_generators_cpu_and_a_lost_worker_are_in_the_report(tmp_path):
    write_run(tmp_path)
    start = 1_800_000_000
    rows = [{"t": start + s, "generator": g, "cpu": cpu} for s in range(5) for g, cpu in (("master", 2.0), ("worker 1", 91.0))]
    rows.append({"t": start + 4, "generator": "worker 2", "lost": True, "last_report": start + 1})
    (tmp_path / "load" / "generators.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    text = build_report(tmp_path).read_text()
    assert "Load generators" in text and "the load generator, not the stack, may be the limit: worker 1 above 85 % CPU" \
        " for 5 s (peak 91 %)" in text
    assert "its requests since" in text  # worker 2's hole
    write_run(tmp_path / "quiet")
    assert "Load generators" not in build_report(tmp_path / "quiet").read_text()  # one process, before generators were kept


def test_hundreds_of_deployments_chart_as_their_sum_and_the_few_that_fell_furthest():
    rows = [{"t": T0 + s, "kind": "deployment", "name": f"d{i:03d}", "ready": 50 - (20 if i == 137 and s == 5 else 0),
             "desired": 50} for s in range(10) for i in range(200)]
    svg = replicas_chart(pd.DataFrame(rows), T0, T0 + 10, [])
    assert "Replicas of 200 Deployments, and the 5 that fell furthest below desired" in svg
    assert "all 200 ready" in svg and "d137 ready" in svg and svg.count("<polyline") >= 12
    few = replicas_chart(pd.DataFrame([r for r in rows if r["name"] in ("d000", "d137")]), T0, T0 + 10, [])
    assert "Replicas per Deployment" in few and "d000 desired" in few and "all " not in few
