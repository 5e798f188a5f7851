"""An action that failed injected no fault (a node agent refused it, the API refused it): the
run counts no fault of it, so the verdicts about its aftermath are inconclusive, naming the
failure, never a pass of a failover that nothing set off."""

import json

import pandas as pd

from core.checks import AlertFired
from edge.rundir import RunDir
from edge.stack import load_stack
from gameday.checks import Run, judge_alert

REFUSED = "RuntimeError: pod-network on gameday-worker: the node agent refused: the node's kernel has no netem qdisc"


def run_with_a_refused_fault(tmp_path) -> Run:
    action = {"type": "action", "name": "delay-the-agents", "provider": {"type": "python", "func": "disturb_pod_network"}}
    (tmp_path / "journal.json").write_text(json.dumps({
        "start": "2027-01-15T08:00:00+00:00", "end": "2027-01-15T08:02:00+00:00",
        "run": [{"activity": action, "status": "failed", "exception": [REFUSED],
                 "start": "2027-01-15T08:00:30+00:00", "end": "2027-01-15T08:00:31+00:00"}]}))
    t0 = pd.Timestamp("2027-01-15T08:00:00+00:00").timestamp()
    (tmp_path / "readiness.jsonl").write_text("".join(
        json.dumps({"t": t0 + s, "kind": "deployment", "name": "core-api", "ready": 3, "desired": 3}) + "\n"
        for s in range(120)))
    return Run(RunDir(tmp_path), load_stack(), [])


def test_a_fault_whose_action_failed_is_no_fault_and_says_why(tmp_path):
    run = run_with_a_refused_fault(tmp_path)
    assert run.faults == [] and run.fault("delay-the-agents") is None and run.chaos_window() is None
    assert run.no_fault("delay-the-agents").startswith("action 'delay-the-agents' injected no fault: it failed")
    assert "no netem qdisc" in run.no_fault("delay-the-agents")
    assert run.no_fault("kill-a-pod") == "the journal has no action named 'kill-a-pod'"


def test_an_alert_after_a_fault_that_failed_is_inconclusive_and_says_why(tmp_path):
    [verdict] = judge_alert(run_with_a_refused_fault(tmp_path), AlertFired("AgentResponseTimeHigh", "delay-the-agents"))
    assert verdict.status == "inconclusive" and "injected no fault: it failed" in verdict.reason, verdict
