"""Weak-spot rules over namespaces built by hand (core.weak_spots): each rule finds its weak spot,
names the object, and finds nothing on a namespace without it."""

from core.weak_spots import Namespace, weak_spots

SPREAD = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"},
    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}


def workload(name="web", kind="Deployment", replicas=3, probe=True, cpu="100m", affinity=SPREAD, strategy=None,
             spread=()):
    container = {"name": "app", "resources": {"requests": {"cpu": cpu}} if cpu else {}}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container],
                                                                          "affinity": affinity,
                                                                          "topologySpreadConstraints": list(spread)}}}
    if strategy is not None:
        spec["strategy"] = strategy
    return {"kind": kind, "metadata": {"name": name}, "spec": spec}


def pod(name, app="web"):
    return {"kind": "Pod", "metadata": {"name": name, "labels": {"app": app}}}


def pdb(name, selector, **spec):
    return {"kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": {"selector": selector, **spec}}


def hpa(name, target="web", kind="Deployment", low=3, high=10, cpu=True):
    metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                           "averageUtilization": 70}}}] if cpu else []
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"kind": kind, "name": target}, "minReplicas": low, "maxReplicas": high,
                     "metrics": metrics}}


PODS = [pod("web-1"), pod("web-2"), pod("web-3")]
HEALTHY = Namespace([workload()], PODS, [pdb("web", {"matchLabels": {"app": "web"}}, minAvailable=2)], [hpa("web")])


def found(ns: Namespace) -> set[tuple[str, str]]:
    return {(f.rule, f.object) for f in weak_spots(ns)}


def test_a_namespace_without_weak_spots_has_no_finding():
    assert weak_spots(HEALTHY) == []


def test_one_replica_and_a_container_without_readiness_probe():
    ns = Namespace([workload(replicas=1, probe=False)], PODS[:1], [], [])
    assert {("single_replica", "Deployment/web"), ("no_readiness_probe", "Deployment/web")} <= found(ns)


def test_an_hpa_that_may_scale_to_one_is_a_single_replica():
    ns = Namespace([workload(replicas=3)], PODS, [], [hpa("web", low=1)])
    finding, = [f for f in weak_spots(ns) if f.rule == "single_replica"]
    assert "HPA web may scale it to 1" in finding.detail


def test_pdbs_that_block_every_drain_select_nothing_or_overlap():
    ns = Namespace([workload()], PODS, [pdb("all", {"matchLabels": {"app": "web"}}, minAvailable=3),
                                        pdb("none", {"matchLabels": {"app": "gone"}}, maxUnavailable=1),
                                        pdb("zero", {"matchLabels": {"app": "web"}}, maxUnavailable=0)], [])
    assert {("pdb_allows_no_disruption", "PodDisruptionBudget/all"), ("pdb_selects_no_pod", "PodDisruptionBudget/none"),
            ("pdb_allows_no_disruption", "PodDisruptionBudget/zero"), ("pod_under_two_pdbs", "Pod/web-1")} <= found(ns)
    percent = Namespace([workload()], PODS, [pdb("most", {"matchLabels": {"app": "web"}}, minAvailable="90%")], [])
    assert found(percent) == {("pdb_allows_no_disruption", "PodDisruptionBudget/most")}   # 90 % of 3 rounds up to 3
    # maxUnavailable 10 % of 3 rounds up to 1 pod, as the disruption controller counts: a drain gets through
    assert found(Namespace([workload()], PODS, [pdb("some", {"matchLabels": {"app": "web"}}, maxUnavailable="10%")],
                           [])) == set()


def test_hpas_that_cannot_scale_scale_nothing_or_have_no_cpu_to_measure():
    ns = Namespace([workload(cpu="")], PODS, [], [hpa("web", low=4, high=4), hpa("ghost", target="nothing")])
    assert found(ns) == {("hpa_cannot_scale", "HorizontalPodAutoscaler/web"),
                         ("hpa_without_cpu_requests", "HorizontalPodAutoscaler/web"),
                         ("hpa_target_missing", "HorizontalPodAutoscaler/ghost")}


def test_replicas_only_preferred_apart_may_share_a_node_and_a_zone():
    preferred = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}]}}
    findings = {f.rule: f.detail for f in weak_spots(Namespace([workload(affinity=preferred)], PODS, [], []))}
    assert "preferred only" in findings["replicas_may_share_a_node"]
    assert "preferred only" not in findings["replicas_may_share_a_zone"]
    zones = [{"topologyKey": "topology.kubernetes.io/zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}]
    spread = Namespace([workload(affinity=None, spread=zones)], PODS, [], [])
    assert {f.rule for f in weak_spots(spread)} == {"replicas_may_share_a_node"}


def test_a_rollout_that_may_stop_every_pod():
    recreate = workload(strategy={"type": "Recreate"})
    all_at_once = workload(name="api", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%"}})
    assert found(Namespace([recreate, all_at_once], PODS, [], [])) == {
        ("rollout_takes_every_pod", "Deployment/web"), ("rollout_takes_every_pod", "Deployment/api")}
