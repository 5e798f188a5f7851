"""Guardrails on real parts: Locust's load on the local service, Prometheus scraping it, a real
`chaos run` of an experiment that makes the core API fail for 90 s, and the guardrail watcher as
gameday.controls starts it. Crossed, the watcher must halt chaos within the guardrail's `for` and
a few seconds, the rollback must clear the fault, and the recorded samples must judge as a fail
with the data; on a healthy run it must let the experiment finish, every guardrail held.

The test writes the `method-started` event that gameday.controls writes in a game day (its load
and readiness control needs a cluster for the sampler)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import requests
import yaml

from core.verdict import Window
from edge.files import read_json_lines
from edge.processes import python_module, spawn
from edge.rundir import append_event
from gameday.experiment import guardrails_of
from probes.guardrails import guardrail_held
from tests.integration.local import REPO, SEED_LOCUSTFILE, seconds_of_load
from tests.waiting import wait_until

EXPERIMENT = REPO / "tests/fixtures/experiments/error-storm.yaml"
CHAOS = Path(sys.executable).with_name("chaos")


def local_stack(run: Path, stack: dict, prometheus: str) -> Path:
    path = run / "stack.yaml"
    path.write_text(yaml.safe_dump({
        "name": "local", "kube_context": "none", "namespace": "local", "deployments": ["core-api"],
        "urls": {"entry": stack["core"], "prometheus": prometheus},
        "slo": {"objectives": ["error_ratio < 5%"], "server_selector": 'app="core-api"'}}))
    return path


def storm(run: Path, stack: dict, prometheus: str, error_ratio: float, storm_s: int) -> dict:
    """Runs the experiment under load with its guardrails watched; returns what the run left."""
    run.mkdir()
    experiment = yaml.safe_load(EXPERIMENT.read_text())
    guardrails = guardrails_of(experiment, str(EXPERIMENT))
    load = spawn(python_module("loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", stack["core"], "--out", str(run / "load"), "--shape",
                               "steady", "--users", "10", "--spawn-rate", "10", "--duration", "150"),
                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    chaos = watcher = None
    try:
        wait_until(lambda: seconds_of_load(run / "load") >= 6, timeout=60, interval=0.2, what="6 s of clean load")
        append_event(run, "method-started")
        started = time.monotonic()
        chaos = spawn([str(CHAOS), "--log-file", str(run / "chaos.log"), "run", "--rollback-strategy", "always",
                       "--journal-path", str(run / "journal.json"), str(EXPERIMENT)],
                      env={**os.environ, "CORE_URL": stack["core"], "ERROR_RATIO": str(error_ratio),
                           "STORM_S": str(storm_s)},
                      stdout=open(run / "chaos.out", "w"), stderr=subprocess.STDOUT, cwd=run)
        watcher = spawn(python_module("gameday.guardrails", "--run-dir", str(run), "--stack",
                                      str(local_stack(run, stack, prometheus)), "--chaos-pid", str(chaos.pid),
                                      *[g.expr for g in guardrails]),
                        stdout=open(run / "guardrails.out", "w"), stderr=subprocess.STDOUT)
        chaos.wait(timeout=storm_s + 60)
        chaos_s = time.monotonic() - started
        assert (run / "journal.json").exists(), (run / "chaos.out").read_text()
        append_event(run, "experiment-ended")
        watcher.wait(timeout=30)
    finally:
        for proc in (watcher, chaos, load):
            if proc is not None and proc.poll() is None:
                proc.kill()
    events = read_json_lines(run / "events.jsonl")
    samples = pd.DataFrame(read_json_lines(run / "guardrails.jsonl"))
    halted = next((e for e in events if e["event"] == "halted"), None)
    watched = Window.from_epoch(events[0]["t"], (halted or events[-1])["t"])
    verdicts = {g.expr: guardrail_held(g, samples[samples.guardrail == g.expr].sort_values("t"), watched,
                                       halted if halted and halted["guardrail"] == g.expr else None)
                for g in guardrails}
    return {"journal": json.loads((run / "journal.json").read_text()), "halted": halted, "verdicts": verdicts,
            "chaos_s": chaos_s, "watcher_rc": watcher.returncode}


def test_a_crossed_guardrail_halts_the_experiment_and_its_rollback_runs(stack, prometheus, workdir):
    left = storm(workdir / "guardrail-crossed", stack, prometheus, error_ratio=0.6, storm_s=90)
    halted, journal = left["halted"], left["journal"]
    assert halted and halted["guardrail"] == "error_ratio > 20% for 5s", halted
    assert "crossed for 5 s" in halted["observed"] and halted["worst"] > 0.2
    # halted: 5 s of `for` after the 5 s window fills with failures, far from the storm's 90 s
    assert left["chaos_s"] < 40, left["chaos_s"]
    assert journal["status"] == "interrupted" and [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert left["watcher_rc"] == 0
    crossed = left["verdicts"]["error_ratio > 20% for 5s"]
    assert crossed.status == "fail" and crossed.details["halted"] and crossed.evidence["series"], crossed
    assert all(value > 0.2 for t, value in crossed.evidence["series"] if t >= halted["since"])
    # the rollback cleared the fault: the service answers again
    assert all(requests.get(f"{stack['core']}/api/items", timeout=5).status_code == 200 for _ in range(20))


def test_a_healthy_run_is_not_halted_and_every_guardrail_held(stack, prometheus, workdir):
    left = storm(workdir / "guardrail-held", stack, prometheus, error_ratio=0.0, storm_s=15)
    assert left["halted"] is None and left["journal"]["status"] == "completed", left["journal"]["status"]
    for expr, verdict in left["verdicts"].items():
        assert verdict.status == "pass", (expr, verdict)
