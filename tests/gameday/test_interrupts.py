"""Interrupted game days leave nothing behind. `gameday run` is started as cron or a CI wrapper
starts it (a background job: SIGINT ignored, which the suite must not depend on), and the test sends the signal a terminal or a supervisor would, at several points of a drain, a node
stop and a scale-to-zero: before the fault, in the middle of it, while it is in effect. Every time
the rollbacks must run, the run directory must keep what was measured with status `interrupted`,
and the cluster must hold no cordoned node, no stopped node and no changed Deployment. A second
Ctrl-C abandons the rollbacks, says so, and `gameday cleanup` undoes what they would have."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actions.leftovers import leftovers
from core.verdict import EXIT
from gameday.guard import load_allowlist, target_of
from gameday.run import run_game_day
from tests.integration.local import REPO
from tests.kube import docker, kubectl
from tests.signals import as_background_job, processes_naming, sigint_ignored_here
from tests.waiting import wait_until

EXPERIMENTS = REPO / "experiments"


def gameday(*args) -> subprocess.Popen:
    """`gameday` started as cron or a CI wrapper starts it: a background job, SIGINT ignored."""
    return subprocess.Popen(as_background_job([sys.executable, "-m", "gameday.cli", *args]), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def chaos_log_has(run_dir: Path, text: str):
    log = run_dir / "chaos.log"
    return lambda: log.exists() and text in log.read_text(errors="replace")


def a_node_cordoned():
    return "true" in kubectl("get", "nodes", "-o", "jsonpath={.items[*].spec.unschedulable}")


def a_node_stopped():
    return docker("ps", "-a", "--filter", "label=io.x-k8s.kind.cluster=gameday", "--filter", "status=exited", "-q")


def mca_scaled_to_zero(ns: str):
    return lambda: kubectl("get", "deployment", "mca", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "0"


def interrupted(experiment: str, run_dir: Path, when, signals=(signal.SIGINT,), apart_s=1.0,
                timeout=600) -> tuple[int, str, dict]:
    """Runs the experiment, sends `signals` (apart_s apart) once `when()` holds; returns the exit
    code, the output and verdicts.json."""
    proc = gameday("run", experiment, "--run-dir", str(run_dir))
    try:
        wait_until(lambda: when() or proc.poll() is not None, timeout=300, interval=0.5, what=f"the point to interrupt {experiment}")
        assert proc.poll() is None, f"the game day ended before the interrupt point:\n{proc.stdout.read()}"
        for signum in signals:
            proc.send_signal(signum)
            time.sleep(apart_s)
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, json.loads((run_dir / "verdicts.json").read_text())


def assert_clean(stack, run_dir: Path):
    assert leftovers(target_of(stack, load_allowlist())) == []
    assert not a_node_cordoned() and not a_node_stopped()
    assert not processes_naming(str(run_dir)), "load or sampler processes outlived the run"


def assert_rolled_back(rc: int, out: str, record: dict, run_dir: Path, by: str = "Ctrl-C"):
    assert rc == EXIT["interrupted"], out
    assert record["status"] == "interrupted" and f"interrupted by {by}: the rollbacks ran" in record["notes"], record
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "interrupted" and journal["rollbacks"], "the journal shows the rollbacks"
    assert (run_dir / "report.html").exists()


POINTS = [
    # (experiment, what to wait for, signals)
    pytest.param("node-drain-respects-pdb", lambda run_dir, ns: chaos_log_has(run_dir, "warming up"),
                 (signal.SIGINT,), id="drain-during-warm-up"),
    # in make gameday (CI's budget): the same SIGINT path as during the warm-up, the drain's undo as below
    pytest.param("node-drain-respects-pdb", lambda run_dir, ns: a_node_cordoned, (signal.SIGINT,), id="drain-mid-drain",
                 marks=pytest.mark.long),
    # a supervisor repeating its TERM must not cut the rollbacks short: in make test, while a node is
    # stopped (the node comes back); in make gameday also once the drain is done (uncordoned)
    pytest.param("node-drain-respects-pdb", lambda run_dir, ns: chaos_log_has(run_dir, "Pausing after activity"),
                 (signal.SIGTERM, signal.SIGTERM), id="drain-after-drain-term-twice", marks=pytest.mark.long),
    pytest.param("node-failure-failover", lambda run_dir, ns: a_node_stopped, (signal.SIGTERM, signal.SIGTERM),
                 id="node-stop-just-stopped-term-twice"),
    pytest.param("agent-outage", lambda run_dir, ns: mca_scaled_to_zero(ns), (signal.SIGINT,), id="scale-to-zero"),
]


@pytest.mark.cluster
@pytest.mark.parametrize("experiment,point,signals", POINTS)
def test_an_interrupt_rolls_back_and_leaves_nothing(seed_stack, run_dir, request, experiment, point, signals):
    out_dir = run_dir / request.node.name.replace("[", "-").rstrip("]")
    rc, out, record = interrupted(experiment, out_dir, point(out_dir, seed_stack.namespace), signals)
    by = "Ctrl-C" if signals[0] == signal.SIGINT else "SIGTERM"
    assert_rolled_back(rc, out, record, out_dir, by)
    if "warm-up" not in request.node.name:  # past the warm-up, what the load and sampler measured is kept
        assert (out_dir / "readiness.jsonl").stat().st_size > 0 and (out_dir / "load" / "timeline.jsonl").exists()
    assert_clean(seed_stack, out_dir)
    if experiment == "agent-outage":
        wait_until(lambda: kubectl("get", "deployment", "mca", "-n", seed_stack.namespace, "-o",
                                   "jsonpath={.status.readyReplicas}") not in ("", "0"), timeout=120, what="mca back")


@pytest.mark.cluster
def test_a_second_ctrl_c_abandons_the_rollbacks_says_so_and_cleanup_undoes_them(seed_stack, run_dir):
    out_dir = run_dir / "second-ctrl-c"
    try:
        # the second at once: uncordoning takes a fraction of a second, a later one would find it done
        rc, out, record = interrupted("node-drain-respects-pdb", out_dir, a_node_cordoned, (signal.SIGINT, signal.SIGINT),
                                      apart_s=0.05)
        assert rc == EXIT["error"], out
        assert "rollbacks are ABANDONED" in out and "cordoned by the suite" in record["error"], (out, record)
        assert "gameday cleanup" in record["error"]
    finally:
        cleanup = subprocess.run([sys.executable, "-m", "gameday.cli", "cleanup"], cwd=REPO, capture_output=True,
                                 text=True, timeout=600)
    assert cleanup.returncode == 0 and 'uncordon_drained_nodes: ["gameday-worker' in cleanup.stdout, \
        cleanup.stdout + cleanup.stderr
    assert_clean(seed_stack, out_dir)


class TimedOut(BaseException):
    """What pytest-timeout raises in a test past its time (pytest's Failed): no Exception."""


@pytest.mark.cluster
# the Exception case in make gameday (CI's budget): the subtler one, what is no Exception, stays in CI
@pytest.mark.parametrize("error", [pytest.param(RuntimeError, marks=pytest.mark.long), TimedOut],
                         ids=["exception", "not-an-exception"])
def test_an_error_in_the_runner_rolls_back_and_ends_the_run_as_an_error(seed_stack, run_dir, error):
    """The runner's own failure while chaos runs (here its progress callback, once the drain has
    cordoned the node) stops the experiment as a Ctrl-C would and waits for its rollbacks; the
    run ends as `error` (exit 3: the suite broke, which no verdict says), traceback kept. What is
    no Exception (a test's timeout, SystemExit) goes on to the caller, but only once the
    experiment has rolled back and its load has stopped: a make gameday whose test timed out ran
    the next game day beside the last one's chaos and Locust."""
    out_dir = run_dir / f"runner-error-{error.__name__}"

    def progress(_elapsed_s: float) -> None:
        if a_node_cordoned():
            raise error("the progress display broke")
    with sigint_ignored_here():  # chaos must stop on the runner's SIGINT whatever it inherits
        try:
            result = run_game_day(EXPERIMENTS / "node-drain-respects-pdb.yaml", seed_stack, out_dir,
                                  on_tick=progress, tick_s=1)
        except TimedOut:
            assert error is TimedOut
        else:
            assert error is RuntimeError and EXIT[result.status] == EXIT["error"], result
    record = json.loads((out_dir / "verdicts.json").read_text())
    assert record["status"] == "error", record
    assert f"the runner failed: {error.__name__}: the progress display broke" in record["error"]
    by = f"an error in the runner ({error.__name__}: the progress display broke; traceback in runner-error.txt)"
    assert f"interrupted by {by}: the rollbacks ran" in record["notes"], record
    journal = json.loads((out_dir / "journal.json").read_text())
    assert journal["status"] == "interrupted" and journal["rollbacks"], "the journal shows the rollbacks"
    assert "the progress display broke" in (out_dir / "runner-error.txt").read_text()
    assert_clean(seed_stack, out_dir)
