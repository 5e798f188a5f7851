"""The kind cluster is real and complete: nodes and zones, DNS, pod network and NodePort mapping,
resource metrics and the HPA, kube-state-metrics, PDB-guarded eviction, node failure."""

import json
import os
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from actions.nodes import _why_left
from tests.kube import docker, kubectl
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster  # every test here needs the kind cluster

REPO = Path(__file__).resolve().parents[2]
TOOLBOX = f"kube-gameday/toolbox:{os.environ.get('DEBIAN_SUITE', 'bookworm')}"
SERVICE_NODEPORT = 30081  # kind-config.yaml maps it to 127.0.0.1 for tests (30080 is the stack's)
ZONES = {"zone-a", "zone-b", "zone-c"}


def node_ready(node):
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def test_four_nodes_ready_and_workers_labelled_by_zone(core):
    nodes = core.list_node().items
    assert len(nodes) == 4, [n.metadata.name for n in nodes]
    assert all(node_ready(n) for n in nodes), {n.metadata.name: node_ready(n) for n in nodes}
    workers = [n for n in nodes if "node-role.kubernetes.io/control-plane" not in n.metadata.labels]
    assert {n.metadata.labels.get("topology.kubernetes.io/zone") for n in workers} == ZONES


def test_every_node_holds_the_images_kubeadm_asks_for(core):
    """Offline, nothing can be pulled: kubeadm's own image list must be in every node already."""
    version = docker("exec", "gameday-control-plane", "cat", "/kind/version")
    wanted = set(docker("exec", "gameday-control-plane", "kubeadm", "config", "images", "list",
                        "--kubernetes-version", version).split())
    for node in core.list_node().items:
        listed = json.loads(docker("exec", node.metadata.name, "crictl", "images", "-o", "json"))
        tags = {t for image in listed["images"] for t in image.get("repoTags") or []}
        assert wanted <= tags, f"{node.metadata.name} lacks {sorted(wanted - tags)}"


def run_pod(core, namespace, name, command, timeout=120):
    """Runs the toolbox image once and returns (phase, logs)."""
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[client.V1Container(name="main", image=TOOLBOX, command=["sh", "-c", command])],
        ),
    )
    core.create_namespaced_pod(namespace, pod)
    phase = wait_until(
        lambda: core.read_namespaced_pod(name, namespace).status.phase in ("Succeeded", "Failed")
        and core.read_namespaced_pod(name, namespace).status.phase,
        timeout, what=f"pod {name} to finish",
    )
    return phase, core.read_namespaced_pod_log(name, namespace)


def web_deployment(name, replicas, cpu="50m", labels=None):
    """busybox httpd answering with the pod's name, spread over the workers."""
    labels = {"app": name, **(labels or {})}
    script = ("mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html "
              "&& exec busybox httpd -f -p 8080 -h /www")
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels={"app": name}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    topology_spread_constraints=[client.V1TopologySpreadConstraint(
                        max_skew=1, topology_key="topology.kubernetes.io/zone",
                        when_unsatisfiable="DoNotSchedule",
                        label_selector=client.V1LabelSelector(match_labels={"app": name}),
                    )],
                    containers=[client.V1Container(
                        name="web", image=TOOLBOX, command=["sh", "-c", script],
                        ports=[client.V1ContainerPort(container_port=8080)],
                        readiness_probe=client.V1Probe(
                            http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=2),
                        resources=client.V1ResourceRequirements(requests={"cpu": cpu, "memory": "16Mi"}),
                    )],
                ),
            ),
        ),
    )


def wait_available(apps, namespace, name, timeout=180):
    def available():
        d = apps.read_namespaced_deployment(name, namespace)
        return (d.status.available_replicas or 0) >= d.spec.replicas
    wait_until(available, timeout, what=f"deployment {name} available")


@pytest.fixture(scope="module")
def web(apps, core, namespace):
    """3 web pods, one per zone, behind a NodePort service mapped to 127.0.0.1."""
    apps.create_namespaced_deployment(namespace, web_deployment("web", 3))
    core.create_namespaced_service(namespace, client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(
            type="NodePort", selector={"app": "web"},
            ports=[client.V1ServicePort(port=80, target_port=8080, node_port=SERVICE_NODEPORT)],
        ),
    ))
    wait_available(apps, namespace, "web")
    return "web"


def test_coredns_resolves_a_service_name_from_a_pod(core, namespace, web):
    cluster_ip = core.read_namespaced_service(web, namespace).spec.cluster_ip
    phase, logs = run_pod(core, namespace, "dns", f"busybox nslookup {web}.{namespace}.svc.cluster.local")
    assert phase == "Succeeded", logs
    assert cluster_ip in logs, logs


def test_service_answers_on_localhost_from_pods_on_every_worker(core, namespace, web):
    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len({p.spec.node_name for p in pods}) == 3  # one per worker: routing to each is tested

    def fetch():
        with urllib.request.urlopen(f"http://127.0.0.1:{SERVICE_NODEPORT}/", timeout=5) as resp:
            assert resp.status == 200
            return resp.read().decode().strip()

    seen = Counter()
    # kube-proxy picks endpoints at random: 60 requests miss one of 3 pods with p < 1e-10
    for _ in range(60):
        seen[fetch()] += 1
    assert set(seen) == {f"hello from {p.metadata.name}" for p in pods}, seen


def test_kubectl_top_pods_and_hpa_cpu_utilization(api_client, core, namespace, web):
    def top_numbers():
        out = kubectl("top", "pods", "-n", namespace, "-l", "app=web", "--no-headers", check=False)
        rows = [line.split() for line in out.splitlines() if line.strip()]
        return rows if len(rows) == 3 and all(r[1].endswith("m") for r in rows) else None

    rows = wait_until(top_numbers, 240, interval=5, what="kubectl top pods to return numbers")
    assert all(int(r[1][:-1]) >= 0 for r in rows)

    autoscaling = client.AutoscalingV2Api(api_client)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name=web),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(api_version="apps/v1", kind="Deployment", name=web),
            min_replicas=3, max_replicas=4,
            metrics=[client.V2MetricSpec(type="Resource", resource=client.V2ResourceMetricSource(
                name="cpu", target=client.V2MetricTarget(type="Utilization", average_utilization=80)))],
        ),
    ))

    def current_utilization():  # a 1-tuple, so that 0 % still counts as reported
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(web, namespace)
        for metric in hpa.status.current_metrics or []:
            if metric.resource and metric.resource.name == "cpu":
                return (metric.resource.current.average_utilization,)
        return None

    (utilization,) = wait_until(current_utilization, 240, interval=5,
                                what="the HPA to report a current CPU utilization")
    assert isinstance(utilization, int) and utilization >= 0


def test_kube_state_metrics_serves_pod_and_node_state(core, apps):
    kubectl("apply", "-k", str(REPO / "deploy/monitoring/kube-state-metrics"))
    wait_available(apps, "kube-system", "kube-state-metrics")

    def metrics():
        try:
            return core.connect_get_namespaced_service_proxy_with_path(
                "kube-state-metrics:http-metrics", "kube-system", "metrics")
        except ApiException:
            return None

    text = wait_until(metrics, 60, what="kube-state-metrics /metrics")
    ready_rows = [l for l in text.splitlines() if l.startswith("kube_pod_status_ready{")]
    node_rows = [l for l in text.splitlines()
                 if l.startswith("kube_node_status_condition{") and 'condition="Ready"' in l]
    assert ready_rows, "no kube_pod_status_ready series"
    assert {n.metadata.name for n in core.list_node().items} <= {
        l.split('node="')[1].split('"')[0] for l in node_rows}


def test_eviction_refused_when_pdb_min_available_equals_replicas(api_client, apps, core, namespace):
    apps.create_namespaced_deployment(namespace, web_deployment("guarded", 2, cpu="10m"))
    client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(namespace, client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="guarded"),
        spec=client.V1PodDisruptionBudgetSpec(
            min_available=2, selector=client.V1LabelSelector(match_labels={"app": "guarded"})),
    ))
    wait_available(apps, namespace, "guarded")
    policy = client.PolicyV1Api(api_client)
    wait_until(lambda: policy.read_namespaced_pod_disruption_budget("guarded", namespace).status.observed_generation,
               60, what="the PDB controller to observe the PDB")
    pod = core.list_namespaced_pod(namespace, label_selector="app=guarded").items[0].metadata.name
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(pod, namespace, client.V1Eviction(
            metadata=client.V1ObjectMeta(name=pod, namespace=namespace)))
    assert refused.value.status == 429, refused.value.body
    assert core.read_namespaced_pod(pod, namespace).metadata.deletion_timestamp is None
    # what a drain says of the pod it could not move: the PDB's status, and its ready pods bearing it out
    why = _why_left(core, core.read_namespaced_pod(pod, namespace), ("guarded", 1), blocked=False)
    assert why == "eviction refused 1x by PDB guarded (2 healthy of 2 needed, 0 disruption(s) allowed)", why


def test_stopped_worker_turns_not_ready_and_ready_after_start(core):
    """Last on purpose: it takes a worker away for a minute or two."""
    worker = next(n.metadata.name for n in core.list_node().items
                  if n.metadata.labels.get("topology.kubernetes.io/zone") == "zone-c")
    docker("stop", worker)
    try:
        wait_until(lambda: not node_ready(core.read_node(worker)), 120, interval=2,
                   what=f"{worker} to turn NotReady after docker stop")
    finally:
        docker("start", worker)
    wait_until(lambda: node_ready(core.read_node(worker)), 240, interval=3,
               what=f"{worker} to be Ready again after docker start")
