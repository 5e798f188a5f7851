"""The load runner on real Locust: Ctrl-C stops the load and still judges what was measured;
bad input is one clear error before any request is sent."""

import json
import signal
import subprocess
import sys
import time

import requests

from tests.integration.local import SEED_LOCUSTFILE, run_load, seconds_of_load
from tests.waiting import wait_until


def test_sigint_stops_load_and_keeps_what_was_measured(stack, workdir):
    out = workdir / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", stack["core"], "--out", str(out),
                             "--shape", "steady", "--users", "5", "--duration", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # a few seconds of load first: the stop keeps what was measured
    wait_until(lambda: seconds_of_load(out) >= 5, timeout=60, interval=0.2, what="five seconds of load")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert time.monotonic() - started < 30, "the load did not stop promptly"
    assert "SIGINT: stopping the load" in output
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert {v["status"] for v in verdicts} == {"pass"}, verdicts
    assert verdicts[0]["evidence"]["requests"] > 10
    # Locust quit cleanly and flushed its stats history to the end: a killed Locust loses up to
    # 5 s of it, which the coverage check then reports as a hole in the load's evidence
    assert "locust exited" not in output, output
    history = (out / "locust_stats_history.csv").read_text().splitlines()[1:]
    timeline = [json.loads(line)["t"] for line in (out / "timeline.jsonl").read_text().splitlines()]
    assert int(history[-1].split(",")[0]) >= max(timeline) - 1, (history[-1], max(timeline))


def test_bad_profile_is_one_clear_error_and_no_load(tmp_path, stack):
    profile = tmp_path / "p.yaml"
    profile.write_text("shape: steady\nusers: many\n")
    result = run_load(stack["core"], tmp_path / "out", "--profile", str(profile))
    assert result.returncode == 3
    assert f"{profile}: field 'users'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_load_refuses_non_loopback_targets(tmp_path):
    result = run_load("http://192.0.2.1:80", tmp_path / "out", "--duration", "1")
    assert result.returncode == 3 and "loopback only" in result.stderr


def test_a_request_unanswered_within_the_profiles_timeout_is_a_failure_not_a_hang(stack, workdir, tmp_path):
    """A client gives up: with every response held back 3 s and timeout_s 1, Locust's users record
    failures after about a second, as a client facing an unreachable pod would."""
    profile = tmp_path / "impatient.yaml"
    profile.write_text("shape: steady\nusers: 4\nspawn_rate: 4\nduration_s: 8\ntimeout_s: 1\n")
    requests.post(f"{stack['core']}/admin/faults", json={"latency_ms": 3000, "duration_s": 20}, timeout=5)
    try:
        result = run_load(stack["core"], workdir / "impatient", "--profile", str(profile))
    finally:
        requests.delete(f"{stack['core']}/admin/faults", timeout=5)
    rows = [json.loads(line) for line in (workdir / "impatient" / "timeline.jsonl").read_text().splitlines()]
    failures, sent = sum(r["failures"] for r in rows), sum(r["requests"] for r in rows)
    assert sent > 0 and failures == sent, (failures, sent, result.stdout[-500:])
    slowest_ms = max(float(ms) for r in rows for ms in r["rt_ms"])
    assert slowest_ms < 2000, f"a request took {slowest_ms} ms with a 1 s timeout"
