"""Every experiment of experiments/ that lists kube-gameday verdicts, run as a game day against
the seed stack and judged by its verdicts (not by chaos run's exit code): each verdict passes,
except the seed stack's known findings (seed-findings.yaml), which must fail for their reason.

`make test` (CI) runs the experiments tagged `ci` (two of them whole in other tests: RUN_WHOLE_IN_CI_BY);
`make gameday` runs them all."""

import html
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from core.verdict import Verdict
from gameday.experiment import EXTENSION
from tests.gameday.findings import SEED_FINDINGS, unexpected

HERE = Path(__file__).resolve().parent
# ci-tagged game days CI runs whole elsewhere, their verdicts judged there: not run twice in make test
RUN_WHOLE_IN_CI_BY = {
    "pod-kill-under-load": "tests/e2e/test_in_cluster.py: the nightly Job, its load on worker pods, every verdict passing",
    "node-drain-respects-pdb": "tests/e2e/test_rbac.py: as the ServiceAccount, judged against the seed's findings",
}


JUDGING_S = 600  # chaos starting, the settle before the load, judging, the report: beyond what an experiment states
WAITS = ("timeout_s", "warmup_s", "settle_s")  # the arguments that bound how long an activity or control waits


def time_bound_s(experiment: dict) -> float:
    """How long the game day may take by its own bounds: every wait's timeout, every pause, the
    control's warm-up and settle (the hypothesis twice), and JUDGING_S. pytest's timeout must not
    be shorter: a test it cuts judges nothing (crashloop-alert's rule lets go ~13 min after the
    rollback, well past the 900 s default)."""
    hypothesis = (experiment.get("steady-state-hypothesis") or {}).get("probes") or []
    parts = [*(experiment.get("controls") or []), *hypothesis, *hypothesis,
             *(experiment.get("method") or []), *(experiment.get("rollbacks") or [])]
    seconds = JUDGING_S
    for part in parts:
        arguments = (part.get("provider") or {}).get("arguments") or {}
        seconds += sum(v for k, v in arguments.items() if k in WAITS and isinstance(v, (int, float)))
        seconds += sum(v for v in (part.get("pauses") or {}).values() if isinstance(v, (int, float)))
    return seconds


def game_days() -> list:
    """Each experiment as its configuration defaults it; one that fails nodes also by a node
    agent's kubelet stop (its default on kind from the host is a container stop), in make gameday."""
    params = []
    for path in sorted((HERE.parents[1] / "experiments").glob("*.yaml")):
        experiment = yaml.safe_load(path.read_text())
        if any(e.get("name") == EXTENSION for e in experiment.get("extensions") or []):
            timeout = pytest.mark.timeout(max(900, time_bound_s(experiment)))
            in_ci = "ci" in experiment.get("tags", []) and path.stem not in RUN_WHOLE_IN_CI_BY
            marks = [timeout] if in_ci else [timeout, pytest.mark.long]
            params.append(pytest.param(path, {}, id=path.stem, marks=marks))
            if "node_failure_method" in (experiment.get("configuration") or {}):
                params.append(pytest.param(path, {"GAMEDAY_NODE_FAILURE": "kubelet-stop"}, id=f"{path.stem}-kubelet-stop",
                                           marks=[timeout, pytest.mark.long]))
    return params


@pytest.mark.gameday
@pytest.mark.cluster
@pytest.mark.parametrize("experiment,env", game_days())
def test_game_day(game_day, monkeypatch, experiment, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = game_day(experiment)
    assert not result.error, f"{result.error}\nartifacts: {result.run_dir}"
    problems = unexpected(result.verdicts, SEED_FINDINGS.get(experiment.stem, []))
    assert not problems, "\n".join(problems) + f"\nartifacts: {result.run_dir}"
    report = (result.run_dir / "report.html").read_text()
    assert all(html.escape(v.name) in report for v in result.verdicts), "a verdict is missing from report.html"
    junit = ET.parse(result.run_dir / "junit.xml").getroot()
    assert [c.get("name") for c in junit.iter("testcase")] == [v.name for v in result.verdicts]
    assert int(junit.get("failures")) == sum(v.status == "fail" for v in result.verdicts)


def test_a_placement_dependent_finding_may_pass_but_fails_for_no_other_reason():
    finding = [{"verdict": "drain_completed", "because": "more than one PodDisruptionBudget", "or_pass": "placement"}]
    def drain(status, reason=""):
        return [Verdict("drain_completed", status, "emptied", "", reason=reason, subject="w1")]
    assert unexpected(drain("pass"), finding) == []
    assert unexpected(drain("fail", "ns/m: selected by more than one PodDisruptionBudget"), finding) == []
    assert unexpected(drain("fail", "still there at the timeout"), finding)
    assert unexpected([], finding), "a verdict not judged at all is no pass"
    assert unexpected(drain("pass"), [{k: v for k, v in finding[0].items() if k != "or_pass"}])
