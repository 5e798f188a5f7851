"""The report of a real game day (node-failure-failover, recorded on the kind cluster and kept
in tests/fixtures/game-days/): its verdicts, numbers and spans, as the artifacts say they were."""

import json

import pytest

from core.verdict import upgraded
from edge.rundir import RunDir
from reports.build import alerts_table, build_report, spans_of
from tests.recorded import recorded_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = recorded_run("node-failure-failover", tmp_path_factory.mktemp("recorded"))
    return run, build_report(run).read_text()


def test_every_verdict_is_in_the_report(run):
    run_dir, html = run
    verdicts = json.loads((run_dir / "verdicts.json").read_text())["verdicts"]
    assert len(verdicts) == 15
    for verdict in map(upgraded, verdicts):  # recorded before verdicts had their check apart: named anew
        assert verdict["name"] in html and verdict["observed"].split(" (")[0] in html


def test_the_fault_is_shaded_from_the_stop_to_the_start(run):
    run_dir, html = run
    faults = [s for s in spans_of(RunDir(run_dir)) if s.kind == "fault"]
    assert [(s.label, round(s.end - s.start, 1)) for s in faults] == [
        ("stop-the-busiest-worker until start-the-stopped-worker", 330.2)]
    assert "stop-the-busiest-worker until start-the-stopped-worker</td><td>fault</td><td>03:10:49</td><td>330.2 s" in html
    assert html.count('class="span fault"') == html.count('<svg class="chart"') == 9   # on every chart


def test_the_node_alert_row_says_its_time_to_fire_against_the_bound(run):
    run_dir, _ = run
    run = RunDir(run_dir)
    rows = alerts_table(run.prometheus, run.record["verdicts"])
    (node,) = [r for r in rows if r["alert"] == "KubernetesNodeNotReady"]
    assert node["expected"] and "node=gameday-worker3" in node["where"]
    assert node["verdict"].startswith("pass: firing 326 s after the fault (bound 335 s)")
    assert "resolved notification delivered" in node["verdict"]


def test_the_error_budget_counts_the_three_failed_requests(run):
    _, html = run
    budgets = html[html.index("<h2>SLO: error budget"):]
    row = budgets[budgets.index("<td>error_ratio &lt; 5%</td>"):][:400]
    assert "3 / 4582" in row and "0.01×" in row   # 3 of 4582 failed: 0.065 % of 5 % allowed
