"""The stack under test as `make deploy` leaves it: what stack.yaml names exists and answers,
reachable from 127.0.0.1, the core API reaching an agent, the seeds' HPA and PDB numbers."""

import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from kubernetes import client

from edge.stack import load_stack
from tests.integration.local import SEED_LOCUSTFILE
from tests.kube import CONTEXT, kubectl
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster  # every test here needs the kind cluster

SEED = load_stack()  # stack.yaml: the seed stack make deploy installs
NAMESPACE = SEED.namespace
ENTRY = SEED.entry_url


@pytest.fixture(scope="module")
def stack(apps):
    """Every Deployment of the stack available (an earlier test may have stopped a worker)."""
    def available():
        deployments = apps.list_namespaced_deployment(NAMESPACE).items
        return deployments and all((d.status.available_replicas or 0) >= d.spec.replicas for d in deployments)
    wait_until(available, 300, interval=3, what="the stack's Deployments (run `make deploy`)")
    return {d.metadata.name for d in apps.list_namespaced_deployment(NAMESPACE).items}


def test_everything_stack_yaml_names_exists(stack, api_client):
    assert SEED.kube_context == CONTEXT
    autoscaling, policy = client.AutoscalingV2Api(api_client), client.PolicyV1Api(api_client)
    found = {
        "deployments": stack,
        "hpas": {h.metadata.name for h in autoscaling.list_namespaced_horizontal_pod_autoscaler(NAMESPACE).items},
        "pdbs": {p.metadata.name for p in policy.list_namespaced_pod_disruption_budget(NAMESPACE).items},
        "services": {s.metadata.name for s in client.CoreV1Api(api_client).list_namespaced_service(NAMESPACE).items},
    }
    for kind, names in found.items():
        assert set(getattr(SEED, kind)) <= names, (kind, names)
    # and nothing the game days should watch is left out of it
    assert set(SEED.deployments) == stack and set(SEED.hpas) == found["hpas"] and set(SEED.pdbs) == found["pdbs"]


def test_every_url_stack_yaml_names_answers(stack):
    for url in (f"{SEED.entry_url}/health", f"{SEED.prometheus_url}/-/ready",
                f"{SEED.alertmanager_url}/-/ready", f"{SEED.alert_sink_url}/health"):
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200, url


def get(path):
    with urllib.request.urlopen(f"{ENTRY}{path}", timeout=10) as resp:
        return resp.status, resp.read().decode()


def agent_requests(pod) -> float | None:
    """The MCA pod's own count, read inside the pod: the agents' NetworkPolicy admits the core API
    and Prometheus, not the API server's proxy. None if the pod cannot say (it is draining)."""
    text = kubectl("exec", pod, "-n", NAMESPACE, "-c", "agent", "--", "busybox", "wget", "-qO-",
                   "http://127.0.0.1:8080/metrics", check=False)
    match = re.search(r'^agent_requests_total\{agent_type="mca"\} (\S+)$', text, re.M)
    return float(match.group(1)) if match else None


def serving_mca_pods(core) -> set[str]:
    """The MCA pods the Service sends to: Ready and not being deleted."""
    return {p.metadata.name for p in core.list_namespaced_pod(NAMESPACE, label_selector="app=mca").items
            if not p.metadata.deletion_timestamp
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])}


def test_the_stack_has_the_seed_deployments(stack):
    assert stack == {"core-api", "mca", "npa", "wpa"}


def test_traffic_from_localhost_reaches_the_core_api_and_through_it_an_agent(core, stack):
    def agents_counted() -> tuple[float] | None:
        """The MCA pods' count of 10 plans, or None when the pods serving changed meanwhile (the MCA
        HPA scales in after earlier tests' load; a draining pod refuses the metrics read)."""
        pods = serving_mca_pods(core)
        before = [agent_requests(p) for p in pods]
        for _ in range(10):
            status, body = get("/api/plan")
            assert status == 200 and '"agent":"mca"' in body
        after = [agent_requests(p) for p in pods]
        if None in before + after or serving_mca_pods(core) != pods:
            return None
        return (sum(after) - sum(before),)
    counted, = wait_until(agents_counted, 120, interval=5, what="a set of MCA pods that stays put for 10 requests")
    assert counted == 10


def test_hpas_and_pdbs_carry_the_seed_numbers(api_client, stack):
    hpas = {h.metadata.name: h for h in client.AutoscalingV2Api(api_client)
            .list_namespaced_horizontal_pod_autoscaler(NAMESPACE).items}
    core_hpa = hpas["core-api"].spec
    assert (core_hpa.min_replicas, core_hpa.max_replicas) == (3, 20)
    assert {m.resource.name: m.resource.target.average_utilization for m in core_hpa.metrics} == \
        {"cpu": 70, "memory": 80}
    assert core_hpa.behavior.scale_up.stabilization_window_seconds == 60
    assert core_hpa.behavior.scale_down.stabilization_window_seconds == 300
    assert (hpas["mca"].spec.min_replicas, hpas["mca"].spec.max_replicas) == (2, 10)
    pdbs = {p.metadata.name: p.spec for p in client.PolicyV1Api(api_client)
            .list_namespaced_pod_disruption_budget(NAMESPACE).items}
    assert pdbs["core-api"].min_available == 2
    assert pdbs["mca"].min_available == 1
    assert pdbs["agents"].min_available == "50%"


def test_cpu_load_on_the_core_api_makes_its_hpa_add_replicas(api_client, stack, run_dir):
    """Real Locust load through 127.0.0.1:30080 until the HPA scales out. The only bound is the
    HPA's own: metrics-server resolution + HPA sync (15 s each) + the 60 s scale-up
    stabilization, with room for the load to warm up; the reaction time is printed."""
    autoscaling = client.AutoscalingV2Api(api_client)
    out = run_dir / "e2e" / "hpa-load"
    load = subprocess.Popen([sys.executable, "-m", "loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", ENTRY, "--out", str(out),
                             "--shape", "steady", "--users", "40", "--spawn-rate", "20", "--duration", "360"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    samples, above_target_at = [], None
    started = time.monotonic()
    try:
        def scaled_out():
            nonlocal above_target_at
            status = autoscaling.read_namespaced_horizontal_pod_autoscaler("core-api", NAMESPACE).status
            cpu = next((m.resource.current.average_utilization for m in status.current_metrics or []
                        if m.resource and m.resource.name == "cpu"), None)
            samples.append((round(time.monotonic() - started), cpu, status.desired_replicas))
            if cpu is not None and cpu > 70 and above_target_at is None:
                above_target_at = time.monotonic()
            return (status.desired_replicas or 0) > 3
        wait_until(scaled_out, 330, interval=3, what=f"the core-api HPA to scale out (samples {samples[-5:]})")
    finally:
        load.send_signal(signal.SIGINT)
        load.wait(timeout=120)
    (out / "hpa-samples.txt").write_text("\n".join(f"{t}s cpu={c}% desired={d}" for t, c, d in samples))
    reaction = time.monotonic() - above_target_at if above_target_at else None
    print(f"core-api scaled out {time.monotonic() - started:.0f} s after load start"
          + (f", {reaction:.0f} s after CPU crossed 70 %" if reaction else ""))
    assert samples[-1][2] > 3
