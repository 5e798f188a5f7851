"""Trends across runs: the latest run against the median of the earlier ones, regressions
flagged beyond the noise, improvements said, broken run directories skipped with the reason."""

import json
import subprocess
import sys
from pathlib import Path

from core.verdict import Verdict
from reports.history import (IMPROVEMENT, NO_BASELINE, REGRESSION, STEADY, compare, load_history, run_metrics,
                             summary, write_history_page)

REPO = Path(__file__).resolve().parents[2]
TITLE = "A worker that dies is failed over"
T0 = 1_800_000_000


def verdict(check, status="pass", expected="", details=None, evidence=None, subject="", after=""):
    return Verdict(check, status, expected, "", evidence=evidence, details=details or {}, subject=subject,
                   after=after).to_dict()


def write_run(root, stamp, recovery_s=6.0, fire_after_s=320.0, p95=0.05, rps=30, outage="pass",
              name="node-failure-failover", title=TITLE, legacy=False):
    """runs/<stamp>-<name>/ as `gameday run` leaves it: journal, verdicts and the 1 s timeline."""
    run = root / f"{stamp}-{name}"
    (run / "load").mkdir(parents=True)
    journal = {"experiment": {"title": title}, "status": "completed"}
    if stamp[0].isdigit():  # a pytest run (stamp: the test name) starts when its session does
        journal["start"] = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:00:00+00:00"
    (run / "journal.json").write_text(json.dumps(journal))
    verdicts = [verdict("failover_recovered", details={"recovery_s": recovery_s}, subject="core-api",
                        after="stop-a-worker"),
                verdict("alert_fired", details={"fire_after_s": fire_after_s, "bound_s": 330.0},
                        subject="KubernetesNodeNotReady"),
                verdict("slo_client", expected="p95 < 1s", evidence={"value": p95}, subject="p95"),
                verdict("longest_outage", status=outage, evidence={"seconds": 0, "from": None},
                        details={"longest_outage_s": 0})]
    if legacy:  # as runs recorded them before verdicts held their check and subject apart
        verdicts = [{k: v for k, v in dict(v, name=old).items() if k not in ("check", "subject", "after")}
                    for v, old in zip(verdicts, ("failover_recovered[core-api] after stop-a-worker",
                                                 "alert_fired[KubernetesNodeNotReady]", "slo_client_p95",
                                                 "longest_outage"))]
        verdicts[-1]["details"] = {}
    status = "pass" if outage == "pass" else "fail"
    (run / "verdicts.json").write_text(json.dumps({"status": status, "error": "", "notes": [], "verdicts": verdicts}))
    (run / "load" / "timeline.jsonl").write_text("".join(
        json.dumps({"t": T0 + s, "method": "GET", "name": endpoint, "requests": rps // 2, "failures": 0, "rt_ms": {}}) + "\n"
        for s in range(3) for endpoint in ("/", "/api/items")))
    return run


def write_history(root, latest=None, earlier=3):
    """`earlier` alike runs a day apart, then the latest one with the given changes."""
    for day in range(earlier):
        write_run(root, f"202701{10 + day}T030000Z")
    return write_run(root, "20270120T030000Z", **(latest or {}))


def flags(root):
    (trend,), _ = load_history(root)
    return {c.metric: c.flag for c in trend.changes}


def test_the_numbers_of_a_run_by_metric_name(tmp_path):
    metrics = run_metrics(write_run(tmp_path, "20270110T030000Z"))
    assert metrics["experiment"] == TITLE and metrics["status"] == "pass"
    assert metrics["metrics"] == {"recovery_s[core-api] after stop-a-worker": 6.0,
                                  "fire_after_s[KubernetesNodeNotReady]": 320.0,
                                  "slo_margin[slo_client[p95]]": 0.95, "longest_outage_s": 0.0, "max_rps": 30.0}


def test_a_run_recorded_before_verdicts_held_their_check_reads_the_same(tmp_path):
    legacy = run_metrics(write_run(tmp_path, "20270110T030000Z", legacy=True))
    assert legacy["metrics"] == run_metrics(write_run(tmp_path, "20270111T030000Z"))["metrics"]
    assert set(legacy["verdicts"]) == {"failover_recovered[core-api] after stop-a-worker",
                                       "alert_fired[KubernetesNodeNotReady]", "slo_client[p95]", "longest_outage"}


def test_recovery_time_doubled_is_a_regression(tmp_path):
    write_history(tmp_path, {"recovery_s": 12.5})
    assert flags(tmp_path)["recovery_s[core-api] after stop-a-worker"] == REGRESSION


def test_one_second_more_is_noise(tmp_path):
    write_history(tmp_path, {"recovery_s": 7.0, "fire_after_s": 321.0})
    assert set(flags(tmp_path).values()) == {STEADY}


def test_an_improvement_is_said_and_not_a_regression(tmp_path):
    write_history(tmp_path, {"fire_after_s": 200.0, "rps": 40})
    got = flags(tmp_path)
    assert got["fire_after_s[KubernetesNodeNotReady]"] == IMPROVEMENT and got["max_rps"] == IMPROVEMENT
    assert REGRESSION not in got.values()


def test_lower_rps_and_a_shrinking_slo_margin_are_regressions(tmp_path):
    write_history(tmp_path, {"rps": 20, "p95": 0.3})
    got = flags(tmp_path)
    assert got["max_rps"] == REGRESSION and got["slo_margin[slo_client[p95]]"] == REGRESSION


def test_a_verdict_that_passed_and_now_fails_is_a_regression(tmp_path):
    write_history(tmp_path, {"outage": "fail"})
    got = flags(tmp_path)
    assert got["longest_outage"] == REGRESSION and got["run status"] == REGRESSION


def test_the_baseline_is_the_median_so_one_odd_run_does_not_move_it():
    runs = [{"status": "pass", "verdicts": {}, "metrics": {"recovery_s[api]": s}} for s in (6.0, 60.0, 6.2, 12.0)]
    change, = [c for c in compare(runs[-1], runs[:-1]) if c.metric == "recovery_s[api]"]
    assert change.baseline == 6.2 and change.flag == REGRESSION and change.earlier == (6.0, 60.0, 6.2)


def test_no_earlier_run_says_there_is_nothing_to_compare(tmp_path):
    write_run(tmp_path, "20270110T030000Z")
    trends, _ = load_history(tmp_path)
    assert {c.flag for c in trends[0].changes} == {NO_BASELINE}
    lines = summary(trends, [], tmp_path)
    assert lines == [f"only run    {TITLE}: nothing to compare against"]
    assert "no regression" not in write_history_page(tmp_path, trends, []).read_text()


def test_broken_and_unjudged_run_dirs_are_skipped_with_the_reason(tmp_path):
    write_history(tmp_path, earlier=1)
    (write_run(tmp_path, "20270111T030000Z", name="zone-outage") / "verdicts.json").write_text("{torn")
    (tmp_path / "20270112T030000Z-pytest" / "test_game_day-zone-outage" / "load").mkdir(parents=True)
    (tmp_path / "20270112T030000Z-pytest" / "integration").mkdir()  # no game day: not a run at all
    trends, skipped = load_history(tmp_path)
    assert [t.experiment for t in trends] == [TITLE]
    reasons = {s.path.relative_to(tmp_path).as_posix(): s.reason for s in skipped}
    assert reasons.keys() == {"20270111T030000Z-zone-outage", "20270112T030000Z-pytest/test_game_day-zone-outage"}
    assert "not valid JSON" in reasons["20270111T030000Z-zone-outage"]
    assert "no verdicts.json" in reasons["20270112T030000Z-pytest/test_game_day-zone-outage"]


def test_tests_that_break_the_stack_on_purpose_are_their_own_experiment(tmp_path):
    write_run(tmp_path, "20270110T030000Z")
    session = tmp_path / "20270111T030000Z-pytest"
    session.mkdir()
    write_run(session, "test_game_day", recovery_s=6.1)
    write_run(session, "test_one_replica_fails", recovery_s=60.0)
    trends, _ = load_history(tmp_path)
    assert [(t.experiment, len(t.runs)) for t in trends] == [(TITLE, 2), (f"{TITLE} (test_one_replica_fails)", 1)]


def test_the_cli_prints_each_regression_writes_the_page_and_exits_1(tmp_path):
    latest = write_history(tmp_path, {"recovery_s": 12.5})
    (latest / "report.html").write_text("<html></html>")
    done = subprocess.run([sys.executable, "-m", "gameday.cli", "report", "--history", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"REGRESSION  {TITLE}: recovery_s[core-api] after stop-a-worker: 6.0 s → 12.5 s" in done.stdout
    page = (tmp_path / "history.html").read_text()
    assert 'href="20270120T030000Z-node-failure-failover/report.html"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_the_cli_exits_3_on_a_folder_without_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gameday.cli", "report", "--history", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3 and "no run" in done.stderr


def test_runs_under_another_load_are_not_compared_and_the_older_load_is_history(tmp_path):
    def with_profile(run, users):
        (run / "load" / "profile.json").write_text(json.dumps({"shape": "steady", "users": users}))
    for day in range(3):
        with_profile(write_run(tmp_path, f"202701{10 + day}T030000Z", rps=34), 20)
    with_profile(write_run(tmp_path, "20270120T030000Z", rps=17), 10)  # half the users, half the RPS
    trends, _ = load_history(tmp_path)
    by_name = {t.experiment: t for t in trends}
    assert set(by_name) == {f"{TITLE} · steady 20 users", f"{TITLE} · steady 10 users"}
    assert not by_name[f"{TITLE} · steady 10 users"].flagged(REGRESSION)
    assert by_name[f"{TITLE} · steady 10 users"].current and not by_name[f"{TITLE} · steady 20 users"].current
    out = subprocess.run([sys.executable, "-m", "gameday.cli", "report", "--history", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "earlier load" in out.stdout
