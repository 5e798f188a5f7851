"""Deployment faults as Chaos Toolkit actions, and the rollback that undoes them.

Before changing a Deployment, an action saves what it changes (the pod template, the replica
count) in the annotation SAVED on the Deployment itself: `restore_deployments` (the rollback)
puts back exactly that, also after a crash or an interrupt, and nothing else. Each takes the
Deployment's namespace from `ns`, else the target's (its configuration, core.target).
"""

import json
import logging
from datetime import datetime, timezone

from kubernetes import client

from core.plans import planned
from core.target import Target
from edge.kube import apps_api
from edge.poll import poll

log = logging.getLogger("chaostoolkit")
SAVED = "kube-gameday/saved"


def _save(apps: client.AppsV1Api, deployment: client.V1Deployment) -> None:
    """Keeps the first saved state: a second fault on the same Deployment must not overwrite it."""
    if SAVED in (deployment.metadata.annotations or {}):
        return
    saved = {"replicas": deployment.spec.replicas,
             "template": apps.api_client.sanitize_for_serialization(deployment.spec.template)}
    apps.patch_namespaced_deployment(deployment.metadata.name, deployment.metadata.namespace,
                                     {"metadata": {"annotations": {SAVED: json.dumps(saved)}}})


def wait_rolled_out(apps: client.AppsV1Api, name: str, ns: str, timeout_s: float) -> dict:
    """Waits until every replica runs the current template and is ready (`kubectl rollout status`)."""
    def check():
        d = apps.read_namespaced_deployment(name, ns)
        s, want = d.status, d.spec.replicas
        done = ((s.observed_generation or 0) >= d.metadata.generation and (s.updated_replicas or 0) == want
                and (s.ready_replicas or 0) == want and (s.replicas or 0) == want)
        return done, f"{s.updated_replicas or 0}/{want} updated, {s.ready_replicas or 0} ready"
    done, _, waited = poll(check, timeout_s, f"the rollout of {name}", poll_s=1)
    return {"deployment": name, "rolled_out": done, "waited_s": waited}


def select_deployment(target: Target, deployment: str, ns: str = "") -> tuple[client.AppsV1Api, client.V1Deployment]:
    """The Deployment a change touches, read, in `ns` (default: the target's); refused outside
    the target's namespaces."""
    ns = ns or target.namespace
    target.check_namespace(ns)
    apps = apps_api(target.context)
    return apps, apps.read_namespaced_deployment(deployment, ns)


def _where(d: client.V1Deployment) -> str:
    return f"{d.metadata.namespace}/{d.metadata.name}"


def _plan_restart(a: dict, target: Target) -> list[str]:
    _, d = select_deployment(target, a["deployment"], a["ns"])
    return [f"restart the rollout of {_where(d)}: its {d.status.replicas or 0} pod(s) replaced by its strategy"]


@planned(_plan_restart)
def rollout_restart(deployment: str, ns: str = "", timeout_s: float = 300, configuration: dict | None = None) -> dict:
    """`kubectl rollout restart`: a new ReplicaSet with the same spec, rolled by the Deployment's
    own strategy; waits until the rollout completes."""
    apps, d = select_deployment(Target.of(configuration), deployment, ns)
    stamp = datetime.now(timezone.utc).isoformat()
    apps.patch_namespaced_deployment(deployment, d.metadata.namespace, {"spec": {"template": {"metadata": {
        "annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})
    log.info("rollout restart of %s", deployment)
    return wait_rolled_out(apps, deployment, d.metadata.namespace, timeout_s)


def _container(d: client.V1Deployment, container: str) -> str:
    return container or d.spec.template.spec.containers[0].name


def _plan_env(a: dict, target: Target) -> list[str]:
    _, d = select_deployment(target, a["deployment"], a["ns"])
    return [f"set {', '.join(f'{k}={v}' for k, v in a['env'].items())} on container {_container(d, a['container'])} "
            f"of {_where(d)}, replacing its {d.status.replicas or 0} pod(s) (saving the template for the rollback)"]


@planned(_plan_env)
def set_container_env(deployment: str, env: dict[str, str], ns: str = "", container: str = "",
                      configuration: dict | None = None) -> dict:
    """Changes environment variables of one container (default: the first): a config change,
    such as one that makes the process crash at start. The previous template is saved first."""
    apps, d = select_deployment(Target.of(configuration), deployment, ns)
    _save(apps, d)
    name = _container(d, container)
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": name, "env": [{"name": k, "value": str(v)} for k, v in env.items()]}]}}}}
    apps.patch_namespaced_deployment(deployment, d.metadata.namespace, patch)  # strategic merge: env merged by name
    log.info("set %s on %s/%s", ", ".join(f"{k}={v}" for k, v in env.items()), deployment, name)
    return {"deployment": deployment, "container": name, "env": env}


def _plan_scale(a: dict, target: Target) -> list[str]:
    _, d = select_deployment(target, a["deployment"], a["ns"])
    return [f"scale {_where(d)} from {d.spec.replicas} to {a['replicas']} (saving the count for the rollback)"]


@planned(_plan_scale)
def scale_to(deployment: str, replicas: int, ns: str = "", configuration: dict | None = None) -> dict:
    """Sets the replica count (0 takes every pod away; an HPA leaves a Deployment at 0 alone).
    The previous count is saved first."""
    apps, d = select_deployment(Target.of(configuration), deployment, ns)
    _save(apps, d)
    apps.patch_namespaced_deployment_scale(deployment, d.metadata.namespace, {"spec": {"replicas": replicas}})
    log.info("scaled %s from %s to %d", deployment, d.spec.replicas, replicas)
    return {"deployment": deployment, "from": d.spec.replicas, "to": replicas}


def changed_deployments(apps: client.AppsV1Api, ns: str) -> list[client.V1Deployment]:
    """The Deployments of `ns` this suite changed and has not restored (annotation SAVED)."""
    return [d for d in apps.list_namespaced_deployment(ns).items if SAVED in (d.metadata.annotations or {})]


def restore_deployments(ns: str = "", timeout_s: float = 300, configuration: dict | None = None) -> list[dict]:
    """Rollback: every Deployment of `ns` (default: the target's) this suite changed gets back its
    saved template and replicas, and the rollout is awaited."""
    target = Target.of(configuration)
    ns = ns or target.namespace
    target.check_namespace(ns)
    apps, restored = apps_api(target.context), []
    for d in changed_deployments(apps, ns):
        state = json.loads(d.metadata.annotations[SAVED])
        for attempt in range(5):  # the HPA or the controller may update it between read and write
            try:
                apps.replace_namespaced_deployment(d.metadata.name, ns, _restored(d, state))
                break
            except client.ApiException as err:
                if err.status != 409 or attempt == 4:
                    raise
                d = apps.read_namespaced_deployment(d.metadata.name, ns)
        log.info("restored %s (replicas %s and its pod template)", d.metadata.name, state["replicas"])
        restored.append(wait_rolled_out(apps, d.metadata.name, ns, timeout_s))
    return restored


def _restored(d: client.V1Deployment, state: dict) -> client.V1Deployment:
    d.spec.replicas, d.spec.template = state["replicas"], state["template"]
    d.metadata.annotations = {k: v for k, v in (d.metadata.annotations or {}).items() if k != SAVED}
    return d
