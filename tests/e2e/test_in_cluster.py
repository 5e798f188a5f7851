"""The suite runs from inside the cluster it tests (deploy/runner): its own image, as deploy/rbac's
ServiceAccount, pinned off the workers, load to the stack's Service only. A Job made from the
nightly CronJob runs the pod-kill game day to its verdicts, its load from two Locust worker pods
beside the runner, and leaves nothing behind; so does the
node-failure game day (long), whose node fault there, with no docker, is a node agent's kubelet
stop; a drain refuses the node the runner itself is on."""

import json
import os
import re
import subprocess

import pytest

from actions.leftovers import cleanup as undo_leftovers, leftovers
from actions.nodes import drain_node
from core.agents import NAMESPACE as AGENTS_NAMESPACE
from edge.kube import core_api
from gameday.guard import RUNNER_NODE_ENV, load_allowlist, target_of
from loadtests.workers import WorkerPods
from tests.integration.local import REPO
from tests.kube import CREDENTIALS, kubectl
from tests.waiting import wait_until

JOB = "gameday-in-cluster-test"


@pytest.fixture(scope="module")
def runner():
    """The runner image built and loaded, deploy/runner applied; removed afterwards."""
    build = subprocess.run([str(REPO / "deploy" / "scripts" / "runner-image.sh")], capture_output=True, text=True,
                           timeout=1200)
    assert build.returncode == 0, build.stderr[-3000:]
    kubectl("apply", "-k", str(REPO / "deploy" / "runner"))
    kubectl("delete", "job", JOB, "-n", "gameday", "--ignore-not-found", "--wait=true")  # an aborted run's
    yield build.stdout.strip()
    kubectl("delete", "job", JOB, "-n", "gameday", "--ignore-not-found", "--wait=true")
    kubectl("delete", "-k", str(REPO / "deploy" / "runner"), "--ignore-not-found")


def job_running(experiment: str, *options: str) -> None:
    """A Job from the nightly CronJob's template, running `experiment` instead of its own."""
    template = json.loads(kubectl("get", "cronjob", "gameday-nightly", "-n", "gameday", "-o", "json"))["spec"]["jobTemplate"]
    template["spec"]["template"]["spec"]["containers"][0]["args"] = ["run", experiment, *options]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": JOB, "namespace": "gameday"},
           "spec": template["spec"]}
    kubectl("apply", "-f", "-", input=json.dumps(job))


def job_state() -> str:
    conditions = kubectl("get", "job", JOB, "-n", "gameday", "-o",
                         "jsonpath={range .status.conditions[*]}{.type}={.status} {end}")
    return next((c.split("=")[0] for c in conditions.split() if c in ("Complete=True", "Failed=True")), "")


def load_workers() -> list[str]:
    """The load worker pods there are now: 'NAME PHASE NODE' each."""
    found = kubectl("get", "pods", "-n", AGENTS_NAMESPACE, "-l", ",".join(f"{k}={v}" for k, v in WorkerPods.labels.items()),
                    "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName}{'\\n'}{end}")
    return found.split("\n") if found.strip() else []


@pytest.mark.cluster
@pytest.mark.gameday
def test_a_job_from_the_nightly_cronjob_runs_a_game_day_to_its_verdicts_with_its_load_on_worker_pods(runner, seed_stack):
    assert runner.startswith("kube-gameday/runner:")
    job_running("pod-kill-under-load", "--workers", "2")
    def two_running():
        running = [w for w in load_workers() if " Running " in w]
        return running if len(running) == 2 else job_state() and [f"the job ended first: {job_state()}"]
    running = wait_until(two_running, timeout=300, interval=2, what="two load worker pods running")
    assert all(w.endswith(" gameday-control-plane") for w in running), running  # beside the runner, off the workers
    state = wait_until(job_state, timeout=900, interval=5, what=f"job {JOB} to finish")
    logs = kubectl("logs", f"job/{JOB}", "-n", "gameday")
    assert state == "Complete", logs  # exit 0: every verdict passed (pod-kill passes on the seed stack)
    assert "game day pod-kill-under-load on in-cluster/gameday" in logs, logs
    verdicts = {name: status for status, name in re.findall(r"^\s+(PASS|FAIL|INCONCLUSIVE)\s+([^:]+):", logs, re.M)}
    assert set(verdicts.values()) == {"PASS"} and "slo_client[p95]" in verdicts, logs
    assert any(name.startswith("failover_recovered[core-api]") for name in verdicts), logs
    assert re.search(r"pass: /runs/\d{8}T\d{6}Z-pod-kill-under-load/report.html$", logs.rstrip()), logs
    pod = kubectl("get", "pods", "-n", "gameday", "-l", f"job-name={JOB}", "-o",
                  "jsonpath={.items[0].spec.serviceAccountName} {.items[0].spec.nodeName}")
    assert pod == "kube-gameday gameday-control-plane", pod
    assert not CREDENTIALS.search(logs)
    wait_until(lambda: not load_workers(), timeout=60, interval=2, what="the load worker pods deleted")
    assert leftovers(target_of(seed_stack, load_allowlist())) == []


@pytest.mark.long
@pytest.mark.cluster
@pytest.mark.gameday
@pytest.mark.timeout(1500)
def test_the_in_cluster_runner_fails_a_node_by_its_kubelet_through_a_node_agent(runner, seed_stack):
    job_running("node-failure-failover")
    # no docker in the runner's pod: `auto` picks a node agent's kubelet stop
    wait_until(lambda: kubectl("get", "pods", "-n", "kube-gameday-agents", "-o", "name") or job_state(),
               timeout=300, interval=2, what="a node agent started by the in-cluster runner")
    assert not job_state(), kubectl("logs", f"job/{JOB}", "-n", "gameday")
    state = wait_until(job_state, timeout=1200, interval=5, what=f"job {JOB} to finish")
    logs = kubectl("logs", f"job/{JOB}", "-n", "gameday")
    assert state == "Complete", logs
    verdicts = {name: status for status, name in re.findall(r"^\s+(PASS|FAIL|INCONCLUSIVE)\s+([^:]+):", logs, re.M)}
    assert set(verdicts.values()) == {"PASS"}, logs
    assert verdicts.get("alert_fired[KubernetesNodeNotReady]") == "PASS", logs
    assert leftovers(target_of(seed_stack, load_allowlist())) == []


@pytest.mark.cluster
def test_a_drain_refuses_the_node_its_own_runner_is_on(monkeypatch, seed_stack):
    core = core_api(seed_stack.kube_context)
    worker = next(n.metadata.name for n in core.list_node(label_selector="!node-role.kubernetes.io/control-plane").items)
    monkeypatch.setitem(os.environ, RUNNER_NODE_ENV, worker)  # as deploy/runner's downward API sets it
    target = target_of(seed_stack, load_allowlist())
    assert target.runner_node == worker
    with pytest.raises(PermissionError, match=f"{worker} runs this game day's own runner pod"):
        drain_node(node=worker, configuration=target.configuration())
    assert not core.read_node(worker).spec.unschedulable  # refused before any write


@pytest.mark.cluster
def test_a_load_worker_left_by_a_runner_killed_hard_is_a_leftover_that_cleanup_deletes(runner, seed_stack):
    name = "gameday-test-left-load-worker"
    kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": AGENTS_NAMESPACE, "labels": WorkerPods.labels},
        "spec": {"nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
                 "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                 "securityContext": {"runAsNonRoot": True, "runAsUser": 65534},
                 "containers": [{"name": "worker", "image": runner, "imagePullPolicy": "IfNotPresent",
                                 "command": ["python3", "-c", "import time; time.sleep(600)"]}]}}))
    target = target_of(seed_stack, load_allowlist())
    assert f"load worker pod {AGENTS_NAMESPACE}/{name}" in " ".join(leftovers(target)), leftovers(target)
    assert f"deleted load worker pod {AGENTS_NAMESPACE}/{name}" in undo_leftovers(target)
    assert leftovers(target) == []  # being deleted is gone for the leftovers
