"""The history page's detection matrix (fault class × alert) and resilience score, over a recorded
node-failure run (tests/fixtures) and runs written here (reports/detection.py)."""

import json

from edge.rundir import RunDir
from reports.detection import LOAD_ONLY, WEIGHTS, detection_matrix, resilience_score
from tests.recorded import recorded_run


def judged_run(root, name, verdicts, actions=()):
    run = root / name
    run.mkdir()
    (run / "verdicts.json").write_text(json.dumps({"status": "fail", "verdicts": verdicts}))
    (run / "journal.json").write_text(json.dumps({"run": [
        {"activity": {"type": "action", "name": a, "provider": {"type": "python", "func": a}}} for a in actions]}))
    return RunDir(run)


def verdict(check, status, subject="", details=None):
    return {"name": f"{check}[{subject}]" if subject else check, "check": check, "status": status,
            "expected": "", "observed": "", "subject": subject, "details": details or {}}


def test_a_node_stopped_set_off_the_node_alert_in_its_bound_and_its_restart_is_no_fault_class(tmp_path):
    faults, alerts, cells = detection_matrix([RunDir(recorded_run("node-failure-failover", tmp_path))])
    assert "stop_nodes" in faults and "start_stopped_nodes" not in faults
    cell = cells[("stop_nodes", "KubernetesNodeNotReady")]
    assert (cell.expected, cell.fired, cell.never, cell.bound_s) == (1, 1, 0, 335.0)
    assert 300 < cell.fire_s[0] < cell.bound_s


def test_an_expected_alert_that_never_fired_is_counted_and_a_method_that_only_waits_is_load_only(tmp_path):
    silent = judged_run(tmp_path, "silent", [verdict("alert_fired", "fail", "ErrorBurst", {"bound_s": 95})],
                        ["set_container_env"])
    surge = judged_run(tmp_path, "surge", [verdict("alert_fired", "pass", "HPAScaling", {"fire_after_s": 40, "bound_s": 90})])
    faults, _, cells = detection_matrix([silent, surge])
    assert faults == ["load only", "set_container_env"] and LOAD_ONLY == "load only"
    assert (cells[("set_container_env", "ErrorBurst")].never, cells[("set_container_env", "ErrorBurst")].fired) == (1, 0)
    assert cells[(LOAD_ONLY, "HPAScaling")].fire_s == [40.0]


def test_the_score_weighs_what_failed_and_leaves_out_what_was_not_judged(tmp_path):
    run = judged_run(tmp_path, "kill", [verdict("acknowledged_writes_lost", "fail"), verdict("slo_client", "pass", "p95"),
                                        verdict("steady_state", "pass", "before"), verdict("failover_time", "inconclusive"),
                                        verdict("longest_outage", "pass", details={"longest_outage_s": 4})])
    score = resilience_score({"kill": run})
    judged = WEIGHTS["acknowledged_writes_lost"] + WEIGHTS["slo_client"] + 1 + WEIGHTS["longest_outage"]
    assert score.value == 100 * (judged - WEIGHTS["acknowledged_writes_lost"]) / judged
    [failure] = score.failures
    assert (failure.verdict, failure.weight, failure.outage_s) == ("acknowledged_writes_lost", 5, 4)
    assert [p.verdict for p in score.unjudged] == ["failover_time"]
    assert resilience_score({}).value is None
