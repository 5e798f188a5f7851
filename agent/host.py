"""The host's own tools, reached from the agent's pod: hostPID makes the host's PID 1 visible, and
nsenter runs a command in all of its namespaces, so `systemctl` and `iptables` are the node's,
not the image's. Each fault first checks the node allows it and says why not, rather than
half-applying; its revert is idempotent (reverting what was never applied is no error), so an
apply that failed halfway is reverted whole.

Each fault takes the spec the runner gave the agent (core.agents): what the fault needs to know
that only the cluster knows (the API servers' addresses, the other nodes)."""

import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import agents as protocol

ON_HOST = ("nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--")
ON_HOST_NET = ("nsenter", "--target", "1", "--net", "--")


class HostError(RuntimeError):
    pass


def on_host(*argv: str, timeout_s: float = 60) -> str:
    """Runs argv in the host's namespaces (its own binary); HostError with its output when it fails."""
    return _run([*ON_HOST, *argv], timeout_s)


def _run(command: list[str], timeout_s: float = 60) -> str:
    argv = command[command.index("--") + 1:]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise HostError(f"{' '.join(argv)}: {err}") from err
    if proc.returncode:
        raise HostError(f"{' '.join(argv)} exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:300]}")
    return proc.stdout.strip()


def host_reachable() -> str | None:
    """Why the host's namespaces cannot be entered (None if they can)."""
    init = Path("/proc/1/comm")
    if not init.exists():
        return "no /proc/1: the pod does not share the host's PID namespace (hostPID)"
    try:
        on_host("true", timeout_s=10)
    except HostError as err:
        return f"nsenter into PID 1's namespaces failed (privileged?): {err}"
    return None


def systemd_unit_active(unit: str) -> str | None:
    """Why `unit` cannot be stopped through systemd (None if it can): PID 1 must be systemd."""
    init = Path("/proc/1/comm").read_text().strip()
    if init != "systemd":
        return f"the node's PID 1 is {init!r}, not systemd: no systemctl to stop {unit} with"
    try:
        state = on_host("systemctl", "is-active", unit, timeout_s=10)
    except HostError as err:
        return f"{unit} is not an active systemd unit on this node: {err}"
    return None if state == "active" else f"{unit} is {state!r}, not active"


@dataclass(frozen=True)
class HostFault:
    name: str
    preflight: Callable[[dict], str | None]   # why the node does not allow it (given the spec), or None
    apply: Callable[[dict], None]              # HostError if it failed (then revert runs)
    revert: Callable[[dict], None]             # idempotent


# ---- kubelet-stop: the node NotReady while its containers run on ----

def _kubelet_stoppable(spec: dict) -> str | None:
    return host_reachable() or systemd_unit_active("kubelet")


KUBELET_STOP = HostFault("kubelet-stop", _kubelet_stoppable, lambda spec: on_host("systemctl", "stop", "kubelet"),
                         lambda spec: on_host("systemctl", "start", "kubelet"))


# ---- node-partition: the node cut off from the API servers (and, with peers, the other nodes) ----
# Chains of our own, jumped to from the top of INPUT, OUTPUT and FORWARD: the jumps are the
# moment the partition starts and ends. The agent's own traffic (its group, core.agents.AGENT_GID)
# is exempt, so it can still read its Lease: the dead-man's switch works through the partition.

PARENTS = {"O": "OUTPUT", "I": "INPUT", "F": "FORWARD"}
TOOLS = ("iptables", "ip6tables")  # IPv4 and IPv6: a node may reach its API server by either (kind does by IPv6)


def _tool(address: str) -> str:
    return "ip6tables" if ":" in address else "iptables"


def partition_rules(api_servers: list, peers: list[str]) -> dict[str, dict[str, list[list[str]]]]:
    """tool -> chain part (O, I, F) -> rules: every API server [ip, port] and peer (address or
    CIDR) dropped both ways, by the tool of its family; the agent's own connections exempt first."""
    mark, gid = protocol.AGENT_CONNMARK, str(protocol.AGENT_GID)
    rules = {}
    for tool in sorted({_tool(ip) for ip, _ in api_servers} | {_tool(p) for p in peers}):
        rules[tool] = {"O": [["-m", "owner", "--gid-owner", gid, "-j", "CONNMARK", "--set-mark", mark],
                             ["-m", "owner", "--gid-owner", gid, "-j", "RETURN"]],
                       "I": [["-m", "connmark", "--mark", mark, "-j", "RETURN"]], "F": []}
    for ip, port in api_servers:
        chains = rules[_tool(ip)]
        chains["O"].append(["-d", ip, "-p", "tcp", "--dport", str(port), "-j", "DROP"])
        chains["I"].append(["-s", ip, "-j", "DROP"])
        chains["F"] += [["-d", ip, "-j", "DROP"], ["-s", ip, "-j", "DROP"]]
    for peer in peers:
        chains = rules[_tool(peer)]
        chains["O"].append(["-d", peer, "-j", "DROP"])
        chains["I"].append(["-s", peer, "-j", "DROP"])
        chains["F"] += [["-d", peer, "-j", "DROP"], ["-s", peer, "-j", "DROP"]]
    return rules


def api_servers_in_use(ports: set[int]) -> list[list]:
    """[ip, port] of the host's established connections to an API server port: the addresses the
    kubelet and kube-proxy really use (a load balancer, another family), whatever the
    `kubernetes` Service's endpoints say."""
    found = []
    # the image's own ss, in the host's network namespace: no tool asked of the node
    for line in _run([*ON_HOST_NET, "ss", "-Htn", "state", "established"]).splitlines():
        peer = line.split()[-1]
        address, _, port = peer.rpartition(":")
        if port.isdigit() and int(port) in ports:
            found.append([address.strip("[]").split("%")[0], int(port)])
    return found


def _chain(spec: dict, part: str) -> str:
    return f"{spec['tag']}-{part}"


def _partitionable(spec: dict) -> str | None:
    if not spec.get("api_servers"):
        return "no API server address to cut the node off from (the spec names none)"
    if why := host_reachable():
        return why
    try:
        on_host("iptables", "-w", "5", "-n", "-L", "OUTPUT")
    except HostError as err:
        return f"the node's iptables cannot be used: {err}"
    return None


def _partition(spec: dict) -> None:
    ports = {port for _, port in spec["api_servers"]}
    servers = [list(s) for s in {tuple(s) for s in spec["api_servers"] + api_servers_in_use(ports)}]
    for tool, chains in partition_rules(servers, spec.get("peers", [])).items():
        for part, rules in chains.items():
            on_host(tool, "-w", "5", "-N", _chain(spec, part))
            for rule in rules:
                on_host(tool, "-w", "5", "-A", _chain(spec, part), *rule)
        for part, parent in PARENTS.items():
            on_host(tool, "-w", "5", "-I", parent, "1", "-j", _chain(spec, part))


def _heal(spec: dict) -> None:
    for tool in TOOLS:
        try:
            on_host(tool, "-w", "5", "-S", "OUTPUT")
        except HostError:
            continue  # no such tool on the node: nothing of ours in it either
        for part, parent in PARENTS.items():
            chain = _chain(spec, part)
            while True:  # every jump to it, however many an interrupted apply or a retried revert left
                try:
                    on_host(tool, "-w", "5", "-D", parent, "-j", chain)
                except HostError:
                    break
            for flag in ("-F", "-X"):
                try:
                    on_host(tool, "-w", "5", flag, chain)
                except HostError as err:
                    if "No chain" not in str(err) and "does not exist" not in str(err):
                        raise


NODE_PARTITION = HostFault("node-partition", _partitionable, _partition, _heal)

# ---- pod-stress: CPU and memory pressure inside a pod's own cgroups ----
# stress-ng (the agent image's, Debian's) started held at a shell's `read`, moved into the target
# container's cgroups (every hierarchy: its CPU and memory are charged to the container, what its
# limits throttle and the HPA sees), then let go. It dies with the agent (PR_SET_PDEATHSIG) and
# at its own --timeout, the fault's deadline: nothing outlives the agent that started it.

STRESSES: dict[str, subprocess.Popen] = {}  # tag -> the stress-ng held or running for it
PR_SET_PDEATHSIG = 1


def container_pid(container_id: str) -> int | None:
    """The lowest PID of the node whose cgroup path names the container (hostPID shows them all)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cgroup") as f:
                    if container_id in f.read():
                        found.append(int(entry.name))
            except OSError:
                continue  # gone meanwhile
    return min(found, default=None)


def cgroup_dirs(pid: int) -> list[str]:
    """The directories of every cgroup hierarchy the process is in, as the host mounts them (read
    in the host's cgroup namespace: a pod's own would hide the path above it)."""
    unified = "/sys/fs/cgroup" if _host_has("-e", "/sys/fs/cgroup/cgroup.controllers") else "/sys/fs/cgroup/unified"
    dirs = []
    for line in on_host("cat", f"/proc/{pid}/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        mount = unified if not controllers else f"/sys/fs/cgroup/{controllers.removeprefix('name=')}"
        dirs.append(f"{mount}{path}")
    return dirs


def stress_argv(spec: dict) -> list[str]:
    argv = ["stress-ng", "--timeout", f"{int(spec['timeout_s'])}s", "--quiet"]
    if spec.get("cpu_workers"):
        argv += ["--cpu", str(spec["cpu_workers"]), "--cpu-load", str(spec.get("cpu_load", 100))]
    if spec.get("memory_mb"):
        argv += ["--vm", "1", "--vm-bytes", f"{spec['memory_mb']}M", "--vm-keep"]
    return argv


def _stressable(spec: dict) -> str | None:
    if not (spec.get("cpu_workers") or spec.get("memory_mb")):
        return "nothing to stress: cpu_workers and memory_mb are both 0"
    if shutil.which("stress-ng") is None:
        return "stress-ng is not in the agent's image"
    if why := host_reachable():
        return why
    pid = container_pid(spec["container_id"])
    if pid is None:
        return f"container {spec['container_id'][:12]} has no process on this node (not running, or not here)"
    missing = [d for d in cgroup_dirs(pid) if not _host_has("-d", d)]
    return f"the container's cgroups are not on the host's /sys/fs/cgroup: {', '.join(missing)}" if missing else None


def _host_has(test: str, path: str) -> bool:
    try:
        on_host("test", test, path, timeout_s=10)
        return True
    except HostError:
        return False


def _die_with_the_agent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stress(spec: dict) -> None:
    pid = container_pid(spec["container_id"])
    if pid is None:
        raise HostError(f"container {spec['container_id'][:12]} is gone")
    held = subprocess.Popen(["sh", "-c", 'read go && exec "$@"', "stress", *stress_argv(spec)], stdin=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_die_with_the_agent)
    STRESSES[spec["tag"]] = held
    on_host("sh", "-c", " && ".join(f"echo {held.pid} > {d}/cgroup.procs" for d in cgroup_dirs(pid)))
    held.stdin.write("go\n")
    held.stdin.close()
    time.sleep(1)
    if held.poll() is not None:
        raise HostError(f"stress-ng exited {held.returncode} at once: {' '.join(stress_argv(spec))}")


def _unstress(spec: dict) -> None:
    held = STRESSES.pop(spec["tag"], None)
    if held is None:
        return
    try:
        os.killpg(held.pid, signal.SIGKILL)  # stress-ng and its workers: one session of their own
    except ProcessLookupError:
        pass
    held.wait()


POD_STRESS = HostFault("pod-stress", _stressable, _stress, _unstress)

FAULTS = {f.name: f for f in (KUBELET_STOP, NODE_PARTITION, POD_STRESS)}
