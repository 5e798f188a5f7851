"""When the suite's own parts fail mid-run, what they did not see is not a pass. A pod-kill game
day loses its Prometheus (the pod deleted: its TSDB is an emptyDir, the history goes with it) and
its Locust (killed) at the second pod kill: every verdict resting on the server's metrics or
on the client's view comes out inconclusive, naming the hole; what the readiness sampler saw is
still judged; the run ends with its artifacts, not a traceback."""

import json
import subprocess
import sys

import requests

from gameday.run import EXIT, REPO
from tests.kube import kubectl, wait_until

SERVER_SIDE = ("slo_server", "slo_agreement")
CLIENT_SIDE = ("slo_client", "longest_outage", "failed_requests")


def prometheus_back(url: str) -> bool:
    try:
        ready = requests.get(f"{url}/-/ready", timeout=5).ok
        targets = requests.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        rules = requests.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    except (requests.RequestException, ValueError, KeyError):
        return False
    return ready and targets and all(t["health"] == "up" for t in targets) and bool(rules)


def test_prometheus_and_locust_lost_mid_run_make_their_verdicts_inconclusive(seed_stack, run_dir):
    out_dir = run_dir / "prometheus-and-locust-lost"
    proc = subprocess.Popen([sys.executable, "-m", "gameday.cli", "run", "pod-kill-under-load", "--run-dir",
                             str(out_dir)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log = out_dir / "chaos.log"
        wait_until(lambda: log.exists() and "Action: kill-another-core-api-pod" in log.read_text(errors="replace"),
                   timeout=300, interval=0.5, what="the second pod kill")
        kubectl("delete", "pod", "-n", "monitoring", "-l", "app=prometheus", "--wait=false")
        # the load runner and Locust, its own process: both have the run's load directory in their arguments
        subprocess.run(["pkill", "-KILL", "-f", str(out_dir / "load")], check=True)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        wait_until(lambda: prometheus_back(seed_stack.prometheus_url), timeout=300, interval=5,
                   what="Prometheus back with every target up and its rules loaded")
    record = json.loads((out_dir / "verdicts.json").read_text())
    assert proc.returncode in (EXIT["fail"], EXIT["inconclusive"]) and not record["error"], out
    verdicts = {v["name"]: v for v in record["verdicts"]}
    for prefix, hole in ((SERVER_SIDE, "prometheus"), (CLIENT_SIDE, "load")):
        judged = [v for name, v in verdicts.items() if name.startswith(prefix)]
        assert judged and all(v["status"] == "inconclusive" for v in judged), judged
        assert any(f"{hole} has no data" in v["reason"] for v in judged), [v["reason"] for v in judged]
    failover = [v for name, v in verdicts.items() if name.startswith("failover_recovered")]
    assert failover and all(v["status"] == "pass" for v in failover), failover   # the sampler saw it all
    assert (out_dir / "report.html").exists()
