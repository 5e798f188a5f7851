"""Chaos Toolkit probes: is a Deployment fully available, a StatefulSet all ready? Through the suite's client (every call
times out) and the target's context, where chaostoolkit-kubernetes' probe builds a client of its
own without timeouts."""

from core.target import Target
from edge.kube import apps_api
from edge.poll import poll


def deployment_available(name: str, ns: str = "", within_s: float = 0, configuration: dict | None = None) -> bool:
    """True when every desired replica of the Deployment is ready and available (`tolerance: true`),
    at once or within within_s: under load an HPA may be adding replicas that are still starting,
    which is no unavailability (capacity-step-load's last step: 16 of 18 ready at that instant)."""
    target = Target.of(configuration)

    def check():
        d = apps_api(target.context).read_namespaced_deployment(name, ns or target.namespace)
        want = d.spec.replicas or 0
        ready, available = d.status.ready_replicas or 0, d.status.available_replicas or 0
        return ready == want and available == want, f"{ready} ready, {available} available of {want}"
    if not within_s:   # read once: an API error stays an error the journal names, as before
        return check()[0]
    return poll(check, within_s, f"Deployment {name} fully available")[0]


def statefulset_ready(name: str, ns: str = "", configuration: dict | None = None) -> bool:
    """True when every replica of the StatefulSet is ready and of its current revision (`tolerance: true`)."""
    target = Target.of(configuration)
    s = apps_api(target.context).read_namespaced_stateful_set(name, ns or target.namespace)
    want = s.spec.replicas or 0
    return (s.status.ready_replicas or 0) == want and (s.status.updated_replicas or 0) == want
