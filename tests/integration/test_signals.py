"""The suite's stop paths work whatever signal dispositions it inherited. A cron job or a CI
wrapper starts it as a shell's background job, with SIGINT ignored; the load runner stops Locust
with SIGINT, so an inherited SIG_IGN would leave Locust sending load after its runner stopped.
Here the runner starts that way, is stopped as a supervisor or a person would stop it, or killed
outright, and the service under test must see the load end with it."""

import json
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.integration.local import SEED_LOCUSTFILE, seconds_of_load
from tests.signals import as_background_job, ignores, processes_naming
from tests.waiting import wait_until


def served(core_url: str) -> float:
    """Requests the service has answered on its API routes (its own counter, read from /metrics)."""
    total = 0.0
    for line in requests.get(f"{core_url}/metrics", timeout=5).text.splitlines():
        if line.startswith("http_requests_total{") and 'route="/api' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def load_in_background(core_url: str, out) -> subprocess.Popen:
    proc = subprocess.Popen(as_background_job([sys.executable, "-m", "loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", core_url,
                                               "--out", str(out), "--shape", "steady", "--users", "5",
                                               "--duration", "300"]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: seconds_of_load(out) >= 1 or proc.poll() is not None, timeout=60, interval=0.2,
               what="the first requests")
    assert proc.poll() is None, proc.stdout.read()
    return proc


def assert_load_stopped(core_url: str, out) -> None:
    wait_until(lambda: not processes_naming(str(out)), timeout=30, interval=0.2, what="Locust to exit")
    before = served(core_url)
    time.sleep(2)  # a second of Locust's 5 users sends dozens of requests: none may arrive
    assert served(core_url) == before, "requests still arrive after the load stopped"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_runner_started_with_sigint_ignored_still_stops_its_load(stack, workdir, signum):
    out = workdir / f"background-{signum.name}"
    probe = subprocess.Popen(as_background_job(["sleep", "30"]))
    try:
        wait_until(lambda: ignores(probe.pid, signal.SIGINT), timeout=10, interval=0.1,
                   what="the helper's command to run with SIGINT ignored")
    finally:
        probe.kill()
    proc = load_in_background(stack["core"], out)
    started = time.monotonic()
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=60)
    assert time.monotonic() - started < 30, "the load did not stop promptly"
    assert f"{signum.name}: stopping the load" in output and "locust exited" not in output, output
    assert {v["status"] for v in json.loads((out / "verdicts.json").read_text())} == {"pass"}
    assert_load_stopped(stack["core"], out)


def test_load_never_outlives_its_runner(stack, workdir):
    """Killed outright (no handler runs), the runner still takes Locust with it."""
    out = workdir / "runner-killed"
    proc = load_in_background(stack["core"], out)
    proc.kill()
    proc.wait(timeout=10)
    assert_load_stopped(stack["core"], out)
