"""A copy sized for a traffic target by a capacity model: the replicas per Deployment, read from
a real step-load run (tests/fixtures/game-days/capacity-step-load, recorded on the kind cluster),
the copy's objects at those replicas, and what a zone-loss verdict and the report say of the target."""

import json
import shutil

import pytest

from actions.scaled_copy import copy_sizes, scaled_copy
from core.sizing import replicas_at_target
from core.verdict import Verdict
from edge.rundir import RunDir, RunDirError, capacity_run
from gameday.checks import for_target_rate
from probes.zone_loss import zone_loss_rescheduled
from reports.build import build_report
from tests.recorded import recorded_run
from tests.unit.test_report import write_run
from tests.unit.test_zone_loss import BUDGET, SOURCE, evidence


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    return recorded_run("capacity-step-load", tmp_path_factory.mktemp("recorded"))


def test_the_replicas_a_target_needs_with_a_zone_lost_come_from_the_runs_model(model_run):
    models = RunDir(model_run).capacity_model["deployments"]
    sized = replicas_at_target(models, 10_000, zones=3)
    # the Deployments whose work follows the entry rate; npa and wpa answered none of the load
    assert set(sized) == {"core-api", "mca"}
    core = models["core-api"]
    needed = sized["core-api"] * 2 / 3          # what is left with a zone lost, pods spread evenly
    assert needed * core["rps_per_replica"] >= 10_000 * core["fanout"]
    assert (needed - 3) * core["rps_per_replica"] < 10_000 * core["fanout"]   # the fewest that hold it
    assert replicas_at_target(models, 20_000, zones=3)["core-api"] > 1.9 * sized["core-api"]


def test_a_model_left_out_of_a_deployment_sizes_nothing():
    assert replicas_at_target({"npa": {"unloaded": "answered no request", "rps_per_replica": None},
                               "wpa": {"problem": "2 steps", "rps_per_replica": None}}, 100, 3) == {}


def test_a_copy_sized_per_deployment_keeps_the_source_s_replicas_where_the_model_is_silent():
    other = {**SOURCE, "metadata": {"name": "npa"}}
    objects = scaled_copy([SOURCE, other], [BUDGET], copies=1, replicas={"core-api": 242})
    made = {o["metadata"]["name"]: o["spec"]["replicas"] for o in objects if o["kind"] == "Deployment"}
    assert made == {"core-api-x00": 242, "npa-x00": 3}


def test_the_sizing_line_names_the_run_the_rate_and_each_deployment(model_run):
    sizes, how = copy_sizes({"copies": 5, "replicas": 50, "requests": None, "capacity_run": str(model_run),
                             "target_rps": "10000", "namespace": "gameday"})   # from the environment: a string
    assert sizes == replicas_at_target(RunDir(model_run).capacity_model["deployments"], 10_000, 3)
    assert how.startswith(f"sized for 10000 requests/s with one of 3 zones lost by the capacity model of {model_run}")
    assert f"core-api {sizes['core-api']} (" in how


@pytest.mark.parametrize("arguments, says", [
    ({"requests": {"cpu": "1"}, "target_rps": 100}, "requests cannot be set with capacity_run"),
    ({"target_rps": 0}, "target_rps must be a rate > 0"),
    ({"target_rps": "lots"}, "target_rps must be a rate > 0")])
def test_a_sizing_asked_wrongly_says_which_argument(model_run, arguments, says):
    with pytest.raises(ValueError, match=says):
        copy_sizes({"copies": 1, "replicas": 1, "requests": None, "capacity_run": str(model_run), "namespace": "gameday",
                    **arguments})


def test_a_run_without_a_model_is_named(tmp_path, monkeypatch):
    (tmp_path / "verdicts.json").write_text(json.dumps({"status": "pass", "verdicts": []}))
    with pytest.raises(RunDirError, match="no capacity_for_target verdict"):
        capacity_run(str(tmp_path), "gameday")
    with pytest.raises(RunDirError, match="no verdicts.json there"):
        capacity_run(str(tmp_path / "nowhere"), "gameday")
    monkeypatch.setenv("GAMEDAY_RUNS", str(tmp_path))
    with pytest.raises(RunDirError, match="`gameday run capacity-step-load` makes one"):
        capacity_run("latest", "gameday")


def test_latest_is_the_newest_run_on_the_namespace_that_holds_a_model_also_in_a_pytest_session(model_run, tmp_path,
                                                                                                monkeypatch):
    monkeypatch.setenv("GAMEDAY_RUNS", str(tmp_path))

    def copied(into, namespace):
        shutil.copytree(model_run, tmp_path / into)
        record = json.loads((tmp_path / into / "verdicts.json").read_text())
        (tmp_path / into / "verdicts.json").write_text(json.dumps({**record, "target": {"namespace": namespace}}))
    copied("20261201T000000Z-capacity-step-load", "gameday")
    copied("20261202T000000Z-pytest/test_game_day-capacity-step-load", "gameday")
    copied("20261203T000000Z-capacity-step-load", "shop")
    (tmp_path / "20261204T000000Z-pod-kill").mkdir()
    (tmp_path / "20261204T000000Z-pod-kill" / "verdicts.json").write_text(json.dumps({"status": "pass", "verdicts": []}))
    assert capacity_run("latest", "gameday").path == tmp_path / "20261202T000000Z-pytest/test_game_day-capacity-step-load"


def test_a_zone_loss_verdict_over_a_copy_sized_for_a_target_answers_for_that_rate():
    verdict = Verdict("none_pending_for_capacity", "fail", "no pod Pending for want of room", "at most 40 Pending",
                      subject="gameday-scaled", details={"pending": 40})
    judged = for_target_rate(verdict, {"target_rps": 14000.0, "sized": "sized for 14000 requests/s ..."})
    assert judged.subject == "gameday-scaled at 14000 rps" and judged.status == "fail"
    assert judged.details == {"pending": 40, "sized": "sized for 14000 requests/s ..."}


def test_the_report_says_how_the_copy_was_sized(tmp_path):
    write_run(tmp_path)
    record = json.loads((tmp_path / "verdicts.json").read_text())
    sized = "sized for 14000 requests/s with one of 3 zones lost by the capacity model of runs/x: core-api 3362"
    verdict = for_target_rate(zone_loss_rescheduled(evidence(watched_from=1_800_000_030.0), 180),
                              {"target_rps": 14000.0, "sized": sized})
    record["verdicts"].append(verdict.to_dict())
    (tmp_path / "verdicts.json").write_text(json.dumps(record))
    text = build_report(tmp_path).read_text()
    assert f"<strong>The copy</strong> was {sized}." in text
    assert "zone_loss_rescheduled[gameday-scaled at 14000 rps]" in text


def test_a_model_that_cannot_be_found_fails_the_copy_naming_the_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMEDAY_RUNS", str(tmp_path))
    with pytest.raises(ValueError, match="capacity_run 'latest': no run on namespace 'gameday'"):
        copy_sizes({"copies": 1, "replicas": 1, "requests": None, "capacity_run": "latest", "target_rps": 100,
                    "namespace": "gameday"})
