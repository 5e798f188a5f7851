"""The node agent's pod, from the runner's side: what every agent is (core.agents: privileged,
hostPID and hostNetwork, pinned to its node, tolerating every taint, the suite's own image), and
a one-shot agent that runs, prints its answer and ends (a look, not a fault: no Lease). The
faults' agents, which stay until reverted, are started by actions.agents."""

import uuid

from kubernetes import client

from core import agents as protocol
from edge.poll import poll


def agent_pod(name: str, node: str, module: str, args: list[str], annotations: dict[str, str],
              grace_s: int = 60) -> client.V1Pod:
    """An agent pod running `python3 -m MODULE ARGS` on `node`."""
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, namespace=protocol.NAMESPACE, labels=protocol.LABELS,
                                     annotations={protocol.NODE: node, **annotations}),
        spec=client.V1PodSpec(
            node_name=node,  # no scheduler: a cordoned or tainted node is still the one meant
            host_pid=True, host_network=True, restart_policy="Never", dns_policy="ClusterFirstWithHostNet",
            service_account_name=protocol.SERVICE_ACCOUNT, automount_service_account_token=True,
            tolerations=[client.V1Toleration(operator="Exists")],  # no taint, not even NotReady's, evicts it
            termination_grace_period_seconds=grace_s,
            containers=[client.V1Container(
                name="agent", image=protocol.IMAGE, image_pull_policy="IfNotPresent",
                command=["python3", "-m", module], args=args,
                # its own group: a network fault exempts the agent's traffic by it (core.agents)
                security_context=client.V1SecurityContext(privileged=True, run_as_user=0,
                                                          run_as_group=protocol.AGENT_GID),
                termination_message_policy="File")]))


def pod_message(pod: client.V1Pod) -> str:
    """What an ended agent said last (its termination message), or why it ended."""
    for status in pod.status.container_statuses or []:
        if status.state.terminated:
            return status.state.terminated.message or status.state.terminated.reason or ""
    return pod.status.reason or ""


def delete_pod(core: client.CoreV1Api, name: str) -> None:
    try:
        core.delete_namespaced_pod(name, protocol.NAMESPACE, grace_period_seconds=0)
    except client.ApiException as err:
        if err.status != 404:
            raise


def start_one_shot(core: client.CoreV1Api, node: str, purpose: str, module: str, args: list[str]) -> str:
    """Creates a one-shot agent on `node` and returns its pod's name (see one_shot_output)."""
    name = f"gameday-{purpose}-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(protocol.NAMESPACE, agent_pod(name, node, module, args, {}, grace_s=5))
    return name


def one_shot_output(core: client.CoreV1Api, name: str, timeout_s: float) -> str:
    """The standard output of one-shot agent `name` once it ended well, then its pod deleted;
    RuntimeError (saying why) if it failed or did not end within timeout_s."""
    def ended() -> tuple[bool, str]:
        pod = core.read_namespaced_pod(name, protocol.NAMESPACE)
        waiting = [s.state.waiting.reason for s in pod.status.container_statuses or [] if s.state.waiting]
        return pod.status.phase in ("Succeeded", "Failed"), f"{pod.status.phase} {', '.join(waiting)}".strip()
    try:
        done, state, waited = poll(ended, timeout_s, f"agent {name}")
        if not done:
            raise RuntimeError(f"agent {name} did not end within {timeout_s:.0f} s ({state})")
        if state != "Succeeded":
            pod = core.read_namespaced_pod(name, protocol.NAMESPACE)
            log = core.read_namespaced_pod_log(name, protocol.NAMESPACE, tail_lines=5)
            raise RuntimeError(f"agent {name} {state}: {pod_message(pod) or log.strip()[-300:]}")
        return core.read_namespaced_pod_log(name, protocol.NAMESPACE)
    finally:
        delete_pod(core, name)
