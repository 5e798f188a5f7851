"""When the suite's own parts fail mid-run, what they did not see is not a pass. One pod-kill game
day loses, at its first kill, its Prometheus (the pod deleted: its TSDB is an emptyDir, the history
goes with it) and its Locust (killed); at its second kill, the API server (the control-plane
container paused for 15 s). Every verdict resting on the server's metrics, on the client's view
or on the readiness samples of the pause comes out inconclusive, naming the hole; what the
sampler saw whole is still judged; the run ends with its artifacts, not a traceback. (One run,
not one per loss: each is ~2 min of make test.)"""

import json
import subprocess
import sys
import time

import pytest
import requests

from core.verdict import EXIT
from tests.integration.local import REPO
from tests.kube import docker, kubectl
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster  # every test here needs the kind cluster

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


def disturbed_pod_kill(out_dir, disturbances: dict, prometheus_url: str) -> tuple[int, str, dict]:
    """Runs the pod-kill game day, calls disturbances[action]() as soon as chaos starts each
    action; returns the exit code, the output and verdicts.json once the run is over and
    Prometheus whole again."""
    proc = subprocess.Popen([sys.executable, "-m", "gameday.cli", "run", "pod-kill-under-load", "--run-dir",
                             str(out_dir)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log = out_dir / "chaos.log"
        for action, disturb in disturbances.items():
            wait_until(lambda: log.exists() and f"Action: {action}" in log.read_text(errors="replace"),
                       timeout=300, interval=0.5, what=action)
            disturb()
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        wait_until(lambda: prometheus_back(prometheus_url), timeout=300, interval=5,
                   what="Prometheus back with every target up and its rules loaded")
    return proc.returncode, out, json.loads((out_dir / "verdicts.json").read_text())


def test_prometheus_locust_and_the_api_server_lost_mid_run_make_what_they_hid_inconclusive(seed_stack, run_dir):
    out_dir = run_dir / "suite-parts-lost"

    def lose_prometheus_and_locust():
        kubectl("delete", "pod", "-n", "monitoring", "-l", "app=prometheus", "--wait=false")
        # the load runner and Locust, its own process: both have the run's load directory in their arguments
        subprocess.run(["pkill", "-KILL", "-f", str(out_dir / "load")], check=True)

    def pause_the_control_plane():
        # the API server, etcd and (in kind) DNS with it
        docker("pause", "gameday-control-plane")
        try:
            time.sleep(15)
        finally:
            docker("unpause", "gameday-control-plane")
    rc, out, record = disturbed_pod_kill(out_dir, {"kill-an-entry-pod": lose_prometheus_and_locust,
                                                   "kill-another-entry-pod": pause_the_control_plane},
                                         seed_stack.prometheus_url)
    assert not record["error"] and "Traceback" not in out, out
    assert rc in (EXIT["fail"], EXIT["inconclusive"]), out
    verdicts = record["verdicts"]
    for checks, hole in ((SERVER_SIDE, "prometheus"), (CLIENT_SIDE, "load")):
        judged = [v for v in verdicts if v["check"] in checks]
        assert judged and all(v["status"] == "inconclusive" for v in judged), judged
        assert any(f"{hole} has no data" in v["reason"] for v in judged), [v["reason"] for v in judged]
    by_name = {v["name"]: v for v in verdicts}
    # the first kill, before the pause: the sampler saw it all, it stands
    assert by_name["failover_recovered[core-api] after kill-an-entry-pod"]["status"] == "pass"
    # judged over the paused seconds: the second failover and each PDB of the stack, not a pass
    over_the_pause = [by_name["failover_recovered[core-api] after kill-another-entry-pod"],
                      *(v for v in verdicts if v["check"] == "pdb_respected")]
    assert len(over_the_pause) == 1 + len(seed_stack.pdbs), over_the_pause
    assert all(v["status"] != "pass" for v in over_the_pause), over_the_pause
    assert all("readiness has no data from" in v["reason"] for v in over_the_pause if v["status"] == "inconclusive")
    assert (out_dir / "report.html").exists()
