"""`gameday check` on the live cluster: a namespace seeded with weak spots has each one found
(rule and object), a sound namespace has none, and the seed stack's known findings come out."""

import json
import subprocess
import sys

import pytest
import yaml

from core.weak_spots import weak_spots
from edge.kube import read_namespace
from edge.stack import load_stack
from tests.kube import kubectl
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster

SEED = load_stack()
IMAGE = "kube-gameday/service:0.1.0"     # on every node already: the core API's


def deployment(name: str, replicas: int, **pod_spec) -> dict:
    container = {"name": "api", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                 "env": [{"name": "ROLE", "value": "core"}], "ports": [{"name": "http", "containerPort": 8080}],
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}}
    container.update(pod_spec.pop("container", {}))
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": pod_spec.pop("strategy", {"type": "RollingUpdate",
                                                           "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}),
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container], **pod_spec}}}}


def pdb(name: str, app: str, **spec) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": app}}, **spec}}


def hpa(name: str, target: str, low: int, high: int) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": low, "maxReplicas": high,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}]}}


APART = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "sound"}}, "topologyKey": key}
    for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")]}}
READY = {"readinessProbe": {"httpGet": {"path": "/health/ready", "port": "http"}, "periodSeconds": 5}}

WEAK = [deployment("lonely", 1, strategy={"type": "Recreate"},
                   container={"resources": {"limits": {"memory": "128Mi"}}}),     # no CPU request, no probe
        pdb("lonely-all", "lonely", minAvailable=1), pdb("lonely-again", "lonely", maxUnavailable=1),
        pdb("nobody", "nothing-runs-this", minAvailable=1),
        hpa("lonely", "lonely", 1, 1), hpa("ghost", "no-such-deployment", 2, 4)]
SOUND = [deployment("sound", 2, affinity=APART, container=READY), pdb("sound", "sound", minAvailable=1),
         hpa("sound", "sound", 2, 4)]


@pytest.fixture(scope="module")
def namespaces():
    made = {"gameday-check-weak": WEAK, "gameday-check-sound": SOUND}
    for ns, objects in made.items():
        kubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=120s")   # a rerun's leftover
        kubectl("create", "namespace", ns)
        kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(objects))
    wait_until(lambda: kubectl("get", "pods", "-n", "gameday-check-sound", "-o", "name").count("pod/") == 2 and
               kubectl("get", "pods", "-n", "gameday-check-weak", "-o", "name").count("pod/") == 1,
               120, what="the seeded pods created")
    yield made
    for ns in made:
        kubectl("delete", "namespace", ns, "--wait=false")


def test_each_weak_spot_seeded_in_a_namespace_is_found_with_its_object(namespaces):
    found = {(f.rule, f.object) for f in weak_spots(read_namespace(SEED.kube_context, "gameday-check-weak"))}
    lonely_pod = kubectl("get", "pods", "-n", "gameday-check-weak", "-l", "app=lonely", "-o",
                         "jsonpath={.items[0].metadata.name}")
    assert found == {
        ("single_replica", "Deployment/lonely"), ("no_readiness_probe", "Deployment/lonely"),
        ("rollout_takes_every_pod", "Deployment/lonely"),
        ("pdb_allows_no_disruption", "PodDisruptionBudget/lonely-all"),   # lonely-again lets its one pod go
        ("pdb_selects_no_pod", "PodDisruptionBudget/nobody"), ("pod_under_two_pdbs", f"Pod/{lonely_pod}"),
        ("hpa_cannot_scale", "HorizontalPodAutoscaler/lonely"),
        ("hpa_without_cpu_requests", "HorizontalPodAutoscaler/lonely"),
        ("hpa_target_missing", "HorizontalPodAutoscaler/ghost")}


def test_a_sound_namespace_has_no_weak_spot(namespaces):
    assert weak_spots(read_namespace(SEED.kube_context, "gameday-check-sound")) == []


def test_gameday_check_on_the_seed_stack_finds_its_known_findings_and_exits_1():
    """The MCA pods under two PDBs (node-drain-respects-pdb's finding) and HPAScalingEvent's
    metric renamed by kube-state-metrics v2 (hpa-scale-out's), from the live objects alone."""
    result = subprocess.run([sys.executable, "-m", "gameday.cli", "check"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    lines = [line.split(None, 2) for line in result.stdout.splitlines()]
    mca_pods = json.loads(kubectl("get", "pods", "-n", SEED.namespace, "-l", "app=mca", "-o", "json"))["items"]
    assert {("pod_under_two_pdbs", f"Pod/{p['metadata']['name']}") for p in mca_pods} <= {(r, o) for r, o, _ in lines}
    assert ["alert_names_missing_metric", "alert/HPAScalingEvent"] in [[r, o] for r, o, _ in lines]


def test_gameday_check_names_a_kube_context_it_cannot_use_and_exits_3(tmp_path):
    stack = yaml.safe_load(open(SEED.source))
    stack["kube_context"] = "no-such-context"
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(stack))
    result = subprocess.run([sys.executable, "-m", "gameday.cli", "check", "--stack", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "no-such-context" in result.stderr, result.stderr
