"""Host faults through node agents (actions.agents, agent/), on the kind cluster's real nodes:
a kubelet stopped through the Kubernetes API alone turns its node NotReady and comes back with
the rollback; an agent reverts by itself when its runner is SIGKILLed or frozen (SIGSTOP: no
lease renewal) and at its deadline; bad input is refused before any agent starts. Each stop is kept shorter than the 30 s after NotReady at which pods are evicted,
so the stack is left as it was."""

import signal
import subprocess
import sys
import time

import pytest
from kubernetes import client

from actions.agents import agents_in_place, revert_agent_faults, start_agent, stop_kubelet
from actions.leftovers import leftovers
from core import agents as protocol
from edge.kube import core_api
from gameday.guard import load_allowlist, target_of
from gameday.run import REPO
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


def kubelet(node: str) -> str:
    proc = subprocess.run(["docker", "exec", node, "systemctl", "is-active", "kubelet"], capture_output=True, text=True)
    return proc.stdout.strip()


def test_a_kubelet_stopped_by_an_agent_turns_its_node_not_ready_and_the_rollback_starts_it(target):
    done = stop_kubelet(nodes=[WORKER], deadline_s=300, lease_s=15, configuration=target.configuration())
    agent, = done["agents"]
    assert kubelet(WORKER) == "inactive" and agent["applied_at"], agent
    wait_until(lambda: ready(WORKER) == "Unknown", timeout=60, what=f"{WORKER} NotReady (kubelet stopped)")
    assert any(line.startswith(f"kubelet-stop on node {WORKER}") for line in leftovers(target)), leftovers(target)
    reverted, = revert_agent_faults(configuration=target.configuration())
    assert reverted["state"] == protocol.REVERTED and kubelet(WORKER) == "active"
    assert ready(WORKER) == "True" and agents_in_place(core_api(target.context)) == []


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
def test_an_agent_whose_runner_dies_or_freezes_reverts_within_one_lease_period(target, stop):
    holder = subprocess.Popen(  # the runner's side: starts the agent, renews its lease, then is stopped
        [sys.executable, "-c", "import sys, time\nfrom actions.agents import start_agent\nfrom edge.kube import core_api\n"
         f"print(start_agent(core_api({target.context!r}), {WORKER!r}, 'kubelet-stop', 300, 8)['agent'], flush=True)\n"
         "time.sleep(600)"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        name = holder.stdout.readline().strip()
        assert name and kubelet(WORKER) == "inactive", name
        holder.send_signal(stop)
        stopped = time.monotonic()
        wait_until(lambda: lease_notes(name).get(protocol.STATE) == protocol.REVERTED, timeout=60, interval=1,
                   what=f"agent {name} to revert after its runner got {stop.name}")
        took = time.monotonic() - stopped
    finally:
        holder.kill()
        holder.wait()
    notes = lease_notes(name)
    assert notes[protocol.REASON].startswith("lease lost") and kubelet(WORKER) == "active", notes
    # the protocol's bound: one 8 s lease period after the last renewal (+ the agent's 1 s tick and the report)
    assert took < 8 + 4, f"reverted {took:.1f} s after {stop.name}: more than the lease period allows"
    print(f"{stop.name}: kubelet-stop reverted {took:.1f} s after the runner stopped (lease 8 s)")


def test_bad_input_is_refused_before_anything_is_applied(target):
    with pytest.raises(LookupError, match="node 'gameday-worker9' does not exist"):
        stop_kubelet(nodes=["gameday-worker9"], configuration=target.configuration())
    with pytest.raises(ValueError, match="deadline_s must be"):
        stop_kubelet(nodes=[WORKER], deadline_s=0, configuration=target.configuration())
    with pytest.raises(PermissionError, match="control-plane"):
        stop_kubelet(nodes=["gameday-control-plane"], configuration=target.configuration())
    assert agents_in_place(core_api(target.context)) == [] and kubelet(WORKER) == "active"


def test_an_agent_reverts_at_its_deadline_while_its_lease_is_renewed(target):
    applied = start_agent(core_api(target.context), WORKER, "kubelet-stop", deadline_s=10, lease_s=30)
    wait_until(lambda: lease_notes(applied["agent"]).get(protocol.STATE) == protocol.REVERTED, timeout=60, interval=1,
               what="the agent to revert at its 10 s deadline")
    assert lease_notes(applied["agent"])[protocol.REASON] == "deadline reached" and kubelet(WORKER) == "active"
