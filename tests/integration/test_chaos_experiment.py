"""A real `chaos run` of an experiment that calls the suite's probes, against the real service
and Prometheus, under real Locust load: the probe must see the injected burst. Gate on the
journal, not on chaos's exit code (a failed hypothesis can still exit 0)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.local import REPO, SEED_LOCUSTFILE, seconds_of_load
from tests.waiting import wait_until

CHAOS = Path(sys.executable).with_name("chaos")


def test_error_burst_experiment_deviates_and_rolls_back(stack, prometheus, workdir):
    out = workdir / "chaos"
    out.mkdir()
    load = subprocess.Popen([sys.executable, "-m", "loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", stack["core"],
                             "--out", str(out / "load"), "--shape", "steady", "--users", "10",
                             "--spawn-rate", "10", "--duration", "45"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # 10 s of clean load first: the steady state holds before the method
        wait_until(lambda: seconds_of_load(out / "load") >= 10 or load.poll() is not None, timeout=60, interval=0.2,
                   what="10 s of clean load")
        env = {**os.environ, "CORE_URL": stack["core"], "PROMETHEUS_URL": prometheus}
        run = subprocess.run([str(CHAOS), "--log-file", str(out / "chaostoolkit.log"), "run",
                              "--journal-path", str(out / "journal.json"),
                              str(REPO / "experiments/error-burst-is-detected.yaml")],
                             capture_output=True, text=True, env=env, cwd=out, timeout=300)
    finally:
        load.terminate()
        load.wait(timeout=60)
    journal = json.loads((out / "journal.json").read_text())
    before = journal["steady_states"]["before"]
    after = journal["steady_states"]["after"]
    assert before["steady_state_met"], (run.stdout, before)
    assert not after["steady_state_met"], after
    assert journal["deviated"]
    probe = after["probes"][0]["output"]
    assert probe["status"] == "fail" and probe["evidence"]["errors"] > 0, probe
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
