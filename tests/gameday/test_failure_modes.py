"""When the suite's own parts fail mid-run, what they did not see is not a pass. A pod-kill game
day loses its Prometheus (the pod deleted: its TSDB is an emptyDir, the history goes with it) and
its Locust (killed) at the second pod kill: every verdict resting on the server's metrics or
on the client's view comes out inconclusive, naming the hole; what the readiness sampler saw is
still judged; the run ends with its artifacts, not a traceback."""

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


def disturbed_pod_kill(out_dir, action: str, disturb, prometheus_url: str) -> tuple[int, str, dict]:
    """Runs the pod-kill game day, calls disturb() as soon as chaos starts `action`; returns the
    exit code, the output and verdicts.json once the run is over and Prometheus whole again."""
    proc = subprocess.Popen([sys.executable, "-m", "gameday.cli", "run", "pod-kill-under-load", "--run-dir",
                             str(out_dir)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log = out_dir / "chaos.log"
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


def test_prometheus_and_locust_lost_mid_run_make_their_verdicts_inconclusive(seed_stack, run_dir):
    out_dir = run_dir / "prometheus-and-locust-lost"

    def lose_prometheus_and_locust():
        kubectl("delete", "pod", "-n", "monitoring", "-l", "app=prometheus", "--wait=false")
        # the load runner and Locust, its own process: both have the run's load directory in their arguments
        subprocess.run(["pkill", "-KILL", "-f", str(out_dir / "load")], check=True)
    rc, out, record = disturbed_pod_kill(out_dir, "kill-another-entry-pod", lose_prometheus_and_locust,
                                         seed_stack.prometheus_url)
    assert rc in (EXIT["fail"], EXIT["inconclusive"]) and not record["error"], out
    verdicts = record["verdicts"]
    for checks, hole in ((SERVER_SIDE, "prometheus"), (CLIENT_SIDE, "load")):
        judged = [v for v in verdicts if v["check"] in checks]
        assert judged and all(v["status"] == "inconclusive" for v in judged), judged
        assert any(f"{hole} has no data" in v["reason"] for v in judged), [v["reason"] for v in judged]
    failover = [v for v in verdicts if v["check"] == "failover_recovered"]
    assert failover and all(v["status"] == "pass" for v in failover), failover   # the sampler saw it all
    assert (out_dir / "report.html").exists()


def test_an_api_server_blip_is_ridden_out_and_what_it_hid_is_not_a_pass(seed_stack, run_dir):
    """The control-plane container paused for 15 s right after a pod kill (the API server, etcd
    and, in kind, Prometheus with it): the game day goes on when it comes back, and what rests on
    the readiness samples or the metrics of those seconds is not a pass."""
    out_dir = run_dir / "api-server-blip"

    def pause_the_control_plane():
        docker("pause", "gameday-control-plane")
        try:
            time.sleep(15)
        finally:
            docker("unpause", "gameday-control-plane")
    rc, out, record = disturbed_pod_kill(out_dir, "kill-an-entry-pod", pause_the_control_plane,
                                         seed_stack.prometheus_url)
    assert not record["error"] and "Traceback" not in out, out
    assert rc in (EXIT["fail"], EXIT["inconclusive"]), out
    # judged over the paused seconds: not a pass; inconclusive with the hole named, or a failure
    # really seen (in kind, DNS lives on the control plane too: calls between services fail)
    verdicts = {v["name"]: v for v in record["verdicts"]}
    over_the_blip = [v for name, v in verdicts.items() if name == "failover_recovered[core-api] after kill-an-entry-pod"
                     or v["check"] in ("pdb_respected", "slo_server")]
    # the failover, each PDB of the stack, the server's p95 and error ratio
    assert len(over_the_blip) == 1 + len(seed_stack.pdbs) + 2, over_the_blip
    assert all(v["status"] != "pass" for v in over_the_blip), over_the_blip
    assert all("has no data from" in v["reason"] for v in over_the_blip if v["status"] == "inconclusive")
    # the second kill came after it: judged on whole data, it stands
    assert verdicts["failover_recovered[core-api] after kill-another-entry-pod"]["status"] == "pass"
