"""Host faults through node agents (actions.agents, agent/), on the kind cluster's real nodes:
a kubelet stopped, or the node cut off from the API server, through the Kubernetes API alone
turns its node NotReady and comes back with the rollback; a pod stressed burns CPU charged to its
own container until the rollback; a pod's network cut to a Service fails only what needs it, and
delay is refused on a kernel without netem before anything is applied; an agent reverts by itself when its
runner is SIGKILLed or frozen (SIGSTOP: no lease renewal) and at its deadline; bad input is
refused before any agent starts. Each fault is kept shorter than the 30 s after NotReady at which
pods are evicted, so the stack is left as it was. `docker exec` only looks at the nodes here."""

import json
import signal
import subprocess
import sys
import time

import pytest
import requests
from kubernetes import client

from actions.agents import agents_in_place, partition_node, partition_spec, revert_agent_faults, start_agent, stop_kubelet
from actions.leftovers import leftovers
from actions.pod_faults import disturb_pod_network, select_stressed, stress_pods
from core import agents as protocol
from edge.kube import core_api
from edge.stack import load_stack
from gameday.guard import load_allowlist, target_of
from tests.integration.local import REPO
from tests.kube import CONTEXT, kubectl
from tests.waiting import wait_until

WORKER = "gameday-worker3"


@pytest.fixture
def target(seed_stack):
    target = target_of(seed_stack, load_allowlist())
    yield target
    revert_agent_faults(configuration=target.configuration())  # whatever a failed test left
    assert leftovers(target) == []


def ready(node: str) -> str:
    return kubectl("get", "node", node, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')


def lease_notes(name: str) -> dict:
    """The agent's reports on its Lease."""
    leases = client.CoordinationV1Api(core_api(CONTEXT).api_client)
    return leases.read_namespaced_lease(name, protocol.NAMESPACE).metadata.annotations or {}


def on_node(node: str, *argv: str) -> str:
    return subprocess.run(["docker", "exec", node, *argv], capture_output=True, text=True).stdout.strip()


def kubelet(node: str) -> str:
    return on_node(node, "systemctl", "is-active", "kubelet")


def partitioned(node: str) -> bool:
    """Whether a jump to a node-partition chain of ours is in the node's OUTPUT chain (IPv4 or IPv6)."""
    return any("-j GAMEDAY-" in on_node(node, tool, "-S", "OUTPUT") for tool in ("iptables", "ip6tables"))



def test_a_kubelet_stopped_by_an_agent_turns_its_node_not_ready_and_the_rollback_starts_it(target):
    done = stop_kubelet(nodes=[WORKER], deadline_s=300, lease_s=15, configuration=target.configuration())
    agent, = done["agents"]
    assert kubelet(WORKER) == "inactive" and agent["applied_at"], agent
    wait_until(lambda: ready(WORKER) == "Unknown", timeout=60, what=f"{WORKER} NotReady (kubelet stopped)")
    assert any(line.startswith(f"kubelet-stop on node {WORKER}") for line in leftovers(target)), leftovers(target)
    reverted, = revert_agent_faults(configuration=target.configuration())
    assert reverted["state"] == protocol.REVERTED and kubelet(WORKER) == "active"
    assert ready(WORKER) == "True" and agents_in_place(core_api(target.context)) == []


def api_server_reached(node: str) -> list[str]:
    """The API server's addresses, as the node resolves its name, that the node opens a connection to."""
    addresses = {line.split()[0] for line in on_node(node, "getent", "ahosts", "gameday-control-plane").splitlines()}
    return sorted(a for a in addresses if subprocess.run(
        ["docker", "exec", node, "timeout", "3", "bash", "-c", f"echo > /dev/tcp/{a}/6443"], capture_output=True).returncode == 0)


def test_a_partition_with_peers_names_every_other_node_and_its_pods_but_the_api_servers(target):
    core = core_api(target.context)
    spec = partition_spec(core, WORKER, peers=True)
    servers = {ip for ip, _ in spec["api_servers"]}
    others = [n for n in core.list_node().items if n.metadata.name != WORKER]
    for node in others:
        assert node.spec.pod_cidr in spec["peers"], (node.metadata.name, spec)
        internal = {a.address for a in node.status.addresses if a.type == "InternalIP"}
        assert internal - servers <= set(spec["peers"]) and not internal & servers & set(spec["peers"])
    mine = next(n for n in core.list_node().items if n.metadata.name == WORKER)
    assert mine.spec.pod_cidr not in spec["peers"]


def test_a_partitioned_node_turns_not_ready_while_its_pods_run_and_the_rollback_heals_it(target):
    assert len(api_server_reached(WORKER)) == 2, "by IPv4 and IPv6 before the partition"
    running = on_node(WORKER, "crictl", "ps", "-q").split()
    done = partition_node(nodes=[WORKER], deadline_s=300, lease_s=8, configuration=target.configuration())
    agent, = done["agents"]
    assert partitioned(WORKER) and agent["applied_at"], agent
    wait_until(lambda: ready(WORKER) == "Unknown", timeout=60, what=f"{WORKER} NotReady (cut off from the API server)")
    # by every address of the API server, IPv4 and IPv6 (kind's kubelets use its IPv6 one: cut off
    # by IPv4 alone, the node was back Ready 30 s later)
    assert api_server_reached(WORKER) == [], "the node reaches the API server through the partition"
    # NotReady took the 20 s grace period, past the 8 s lease: the agent reads its Lease through
    # the partition (its own traffic is exempt), or it would have reverted by now
    assert lease_notes(agent["agent"]).get(protocol.STATE) == protocol.APPLIED, lease_notes(agent["agent"])
    assert set(running) <= set(on_node(WORKER, "crictl", "ps", "-q").split()), "the node's containers run on"
    reverted, = revert_agent_faults(configuration=target.configuration())
    assert reverted["state"] == protocol.REVERTED and not partitioned(WORKER) and len(api_server_reached(WORKER)) == 2
    assert not any("GAMEDAY-" in on_node(WORKER, tool, "-S") for tool in ("iptables", "ip6tables")), \
        "every chain of the partition is gone"
    assert ready(WORKER) == "True" and agents_in_place(core_api(target.context)) == []


def stressed_pod(core) -> tuple[str, str, str]:
    """(pod, node, container ID) of the first running core API pod: what a pod-stress hits."""
    (pod, cid), = select_stressed(core, target_of(load_stack(), load_allowlist()), "app=core-api", "gameday", 1, "",
                                  1, 0, 300, 8)
    return pod.metadata.name, pod.spec.node_name, cid


def stress_running(node: str) -> bool:
    return bool(on_node(node, "pgrep", "-f", "stress-ng"))


def container_cpu_ns(node: str, cid: str) -> int:
    """The container's CPU time so far, from its cpuacct cgroup on the node."""
    pid = on_node(node, "sh", "-c", f"grep -l {cid} /proc/[0-9]*/cgroup | head -1").split("/")[2]
    controllers, path = next(line.split(":", 2)[1:] for line in on_node(node, "cat", f"/proc/{pid}/cgroup").splitlines()
                             if "cpuacct" in line.split(":")[1].split(","))
    return int(on_node(node, "cat", f"/sys/fs/cgroup/{controllers}{path}/cpuacct.usage"))


def cpu_cores_used(node: str, cid: str, seconds: float = 5) -> float:
    before = container_cpu_ns(node, cid)
    time.sleep(seconds)
    return (container_cpu_ns(node, cid) - before) / 1e9 / seconds


def test_a_stressed_pod_burns_cpu_in_its_own_cgroup_until_the_rollback(target):
    core = core_api(target.context)
    pod, node, cid = stressed_pod(core)
    idle = cpu_cores_used(node, cid)
    done = stress_pods(label_selector="app=core-api", qty=1, cpu_workers=2, deadline_s=300, lease_s=15,
                       configuration=target.configuration())
    assert done["pods"] == [pod] and stress_running(node), done
    # charged to the container: its 500m CPU limit throttles the two busy workers
    stressed = cpu_cores_used(node, cid)
    assert stressed > idle + 0.3 and stressed < 0.6, (idle, stressed)
    reverted, = revert_agent_faults(configuration=target.configuration())
    assert reverted["state"] == protocol.REVERTED and not stress_running(node)
    assert cpu_cores_used(node, cid) < idle + 0.1
    print(f"pod-stress on {pod}: {idle:.2f} cores idle, {stressed:.2f} stressed (limit 0.5), back after the rollback")


def answers(path: str) -> int:
    """The status of the core API's answer to GET path (its NodePort), 0 if none in 10 s."""
    try:
        return requests.get(f"http://127.0.0.1:30080{path}", timeout=10).status_code
    except requests.RequestException:
        return 0


def test_a_pod_network_cut_to_a_service_fails_only_what_needs_it_until_the_rollback(target):
    """Every core API pod's traffic to the MCA agents dropped in its own network namespace: a plan
    (which asks an agent) fails as a 504 once the core API's 2 s agent timeout passes; the
    catalogue, which needs no agent, still answers; the rollback brings plans back."""
    assert answers("/api/plan") == 200
    done = disturb_pod_network(label_selector="app=core-api", qty=0, drop_to_service="mca", deadline_s=300,
                               lease_s=15, configuration=target.configuration())
    assert len(done["pods"]) == 3 and len(done["drop_to"]) >= 2, done  # the Service's cluster IP and its pods
    plans = [answers("/api/plan") for _ in range(6)]
    assert set(plans) == {504}, plans
    assert {answers("/api/items") for _ in range(6)} == {200}
    reverted = revert_agent_faults(configuration=target.configuration())
    assert len(reverted) == 3 and {r["state"] for r in reverted} == {protocol.REVERTED}
    assert {answers("/api/plan") for _ in range(6)} == {200}


def timed(path: str) -> tuple[int, float]:
    """answers(path), and how long it took in seconds."""
    started = time.monotonic()
    return answers(path), time.monotonic() - started


def pod_rules(node: str, pod: str, table: str) -> str:
    """`iptables -S` of `table` inside the pod's network namespace, read on its node."""
    sandbox = on_node(node, "crictl", "pods", "--name", pod, "-q").split()[0]
    pid = json.loads(on_node(node, "crictl", "inspectp", sandbox))["info"]["pid"]
    return on_node(node, "nsenter", "-t", str(pid), "-n", "iptables", "-t", table, "-S")


def test_a_delay_to_a_service_slows_only_what_needs_it_and_the_rollback_takes_it_away_even_unattended(target):
    """Every core API pod's TCP to the MCA agents delayed 600 ms by a delay line in its own network
    namespace (no netem on this kernel): a plan (one call to an agent) takes 0.6-1.2 s more and
    still succeeds, inside the 2 s agent timeout; the catalogue stays fast. A connection a core
    API pod had open to an agent is reset once as it starts. Then one agent is SIGKILLed on its
    node (an OOM kill, say): its redirect outlives it, to a dead line. The rollback reverts the
    two others and, for that one, starts a cleanup agent with the spec its Lease keeps: every
    rule is gone and plans are fast again."""
    assert timed("/api/plan")[0] == 200
    done = disturb_pod_network(label_selector="app=core-api", qty=0, delay_ms=600, delay_to_service="mca",
                               deadline_s=300, lease_s=15, configuration=target.configuration())
    assert len(done["pods"]) == 3 and len(done["delay_to"]) >= 2 and not done["drop_to"], done
    first = [timed("/api/plan")[0] for _ in range(3)]  # a pooled connection reset (502) at most once a pod
    assert set(first) <= {200, 502}, first
    plans = [timed("/api/plan") for _ in range(6)]
    assert {status for status, _ in plans} == {200} and all(0.6 <= took < 2.0 for _, took in plans), plans
    assert all(status == 200 and took < 0.5 for status, took in (timed("/api/items") for _ in range(6)))

    killed, node = done["agents"][0]["agent"], done["agents"][0]["node"]
    pod = next(p for p in done["pods"] if kubectl("get", "pod", p, "-n", "gameday", "-o",
                                                   "jsonpath={.spec.nodeName}") == node)
    assert "REDIRECT" in pod_rules(node, pod, "nat") and "tcp-reset" in pod_rules(node, pod, "filter")
    on_node(node, "pkill", "-KILL", "-f", f"agent --fault pod-network --lease {killed}")
    wait_until(lambda: kubectl("get", "pod", killed, "-n", protocol.NAMESPACE, "-o", "jsonpath={.status.phase}")
               == "Failed", timeout=60, interval=1, what=f"agent {killed} killed")
    assert "REDIRECT" in pod_rules(node, pod, "nat"), "the killed agent's rules outlive it"

    reverted = revert_agent_faults(configuration=target.configuration())
    assert len(reverted) == 3 and {r["state"] for r in reverted} == {protocol.REVERTED}, reverted
    assert "GAMEDAY-" not in pod_rules(node, pod, "nat") + pod_rules(node, pod, "filter")
    after = [timed("/api/plan") for _ in range(6)]
    assert all(status == 200 and took < 0.5 for status, took in after), after
    print(f"delay 600 ms to mca: first plans {first}, plans took {[round(t, 2) for _, t in plans]} s, "
          f"after the rollback (one by a cleanup agent) {[round(t, 2) for _, t in after]} s")


def test_delay_on_a_kernel_without_netem_is_refused_before_anything_is_applied(target):
    with pytest.raises(RuntimeError, match="no netem qdisc") as refused:
        disturb_pod_network(label_selector="app=core-api", qty=1, delay_ms=200, configuration=target.configuration())
    assert "nothing is left applied" in str(refused.value)
    assert agents_in_place(core_api(target.context)) == [] and answers("/api/plan") == 200


def hold(context: str, fault: str) -> None:
    """The runner's side of a fault, run in a process of its own: starts the agent, prints its
    name and node, renews its lease until this process is killed or frozen."""
    core = core_api(context)
    node, spec = WORKER, {}
    if fault == "node-partition":
        spec = partition_spec(core, node, False)
    elif fault == "pod-stress":
        _, node, cid = stressed_pod(core)
        spec = {"container_id": cid, "cpu_workers": 1, "cpu_load": 100, "memory_mb": 0, "timeout_s": 300}
    print(start_agent(core, node, fault, 300, 8, spec)["agent"], node, flush=True)
    time.sleep(600)


def faulted(node: str, fault: str) -> bool:
    return {"kubelet-stop": lambda: kubelet(node) == "inactive", "node-partition": lambda: partitioned(node),
            "pod-stress": lambda: stress_running(node)}[fault]()


# every fault with its runner killed; frozen (the same lease lost to the agent), the partition,
# whose agent must read its lease through the partition it made
@pytest.mark.parametrize("fault,stop", [("kubelet-stop", signal.SIGKILL), ("node-partition", signal.SIGKILL),
                                        ("pod-stress", signal.SIGKILL), ("node-partition", signal.SIGSTOP)],
                         ids=["kubelet-stop-killed", "node-partition-killed", "pod-stress-killed", "node-partition-frozen"])
def test_an_agent_whose_runner_dies_or_freezes_reverts_within_one_lease_period(target, fault, stop):
    holder = subprocess.Popen([sys.executable, "-c", f"from tests.e2e.test_agents import hold; hold({target.context!r}, "
                               f"{fault!r})"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        name, node = holder.stdout.readline().split()
        assert faulted(node, fault), name
        holder.send_signal(stop)
        stopped = time.monotonic()
        wait_until(lambda: lease_notes(name).get(protocol.STATE) == protocol.REVERTED, timeout=60, interval=1,
                   what=f"agent {name} to revert after its runner got {stop.name}")
        took = time.monotonic() - stopped
    finally:
        holder.kill()
        holder.wait()
    notes = lease_notes(name)
    assert notes[protocol.REASON].startswith("lease lost") and not faulted(node, fault), notes
    # the protocol's bound: one 8 s lease period after the last renewal (+ the agent's 1 s tick and the report)
    assert took < 8 + 4, f"reverted {took:.1f} s after {stop.name}: more than the lease period allows"
    print(f"{stop.name}: {fault} reverted {took:.1f} s after the runner stopped (lease 8 s)")


def test_bad_input_is_refused_before_anything_is_applied(target):
    with pytest.raises(LookupError, match="node 'gameday-worker9' does not exist"):
        stop_kubelet(nodes=["gameday-worker9"], configuration=target.configuration())
    with pytest.raises(ValueError, match="deadline_s must be"):
        stop_kubelet(nodes=[WORKER], deadline_s=0, configuration=target.configuration())
    with pytest.raises(PermissionError, match="control-plane"):
        stop_kubelet(nodes=["gameday-control-plane"], configuration=target.configuration())
    with pytest.raises(LookupError, match="node 'gameday-worker9' does not exist"):
        partition_node(nodes=["gameday-worker9"], configuration=target.configuration())
    with pytest.raises(ValueError, match="lease_s must be"):
        partition_node(nodes=[WORKER], lease_s=1, configuration=target.configuration())
    with pytest.raises(ValueError, match="a stress of nothing is no fault"):
        stress_pods(label_selector="app=core-api", cpu_workers=0, configuration=target.configuration())
    with pytest.raises(ValueError, match="deadline_s must be"):
        stress_pods(label_selector="app=core-api", deadline_s=-5, configuration=target.configuration())
    with pytest.raises(LookupError, match="no running pod in gameday matches 'app=nothing-here'"):
        stress_pods(label_selector="app=nothing-here", configuration=target.configuration())
    with pytest.raises(ValueError, match="a disturbance of nothing is no fault"):
        disturb_pod_network(label_selector="app=core-api", configuration=target.configuration())
    with pytest.raises(LookupError, match="Service gameday/nothing-here does not exist"):
        disturb_pod_network(label_selector="app=core-api", drop_to_service="nothing-here",
                            configuration=target.configuration())
    assert agents_in_place(core_api(target.context)) == [] and kubelet(WORKER) == "active"
    assert not partitioned(WORKER) and not stress_running(WORKER)


def test_an_agent_reverts_at_its_deadline_while_its_lease_is_renewed(target):
    applied = start_agent(core_api(target.context), WORKER, "kubelet-stop", deadline_s=10, lease_s=30)
    wait_until(lambda: lease_notes(applied["agent"]).get(protocol.STATE) == protocol.REVERTED, timeout=60, interval=1,
               what="the agent to revert at its 10 s deadline")
    assert lease_notes(applied["agent"])[protocol.REASON] == "deadline reached" and kubelet(WORKER) == "active"
