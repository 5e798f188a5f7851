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


def partition_rules(api_servers: list, peers: list[str], tools=TOOLS) -> dict[str, dict[str, list[list[str]]]]:
    """tool -> chain part (O, I, F) -> rules, for IPv4 and IPv6 alike: the agent's own connections
    exempt first; then every connection to an API server port dropped, whatever its address (the
    kubelet may use a name, a load balancer, another family), and every known API server [ip,
    port] and peer (address or CIDR) dropped both ways, by the tool of its family."""
    mark, gid = protocol.AGENT_CONNMARK, str(protocol.AGENT_GID)
    ports = sorted({str(port) for _, port in api_servers})
    rules = {}
    for tool in tools:
        to_api = [["-p", "tcp", "--dport", port, "-j", "DROP"] for port in ports]
        rules[tool] = {"O": [["-m", "owner", "--gid-owner", gid, "-j", "CONNMARK", "--set-mark", mark],
                             ["-m", "owner", "--gid-owner", gid, "-j", "RETURN"], *to_api],
                       "I": [["-m", "connmark", "--mark", mark, "-j", "RETURN"]], "F": list(to_api)}
    for address in [ip for ip, _ in api_servers] + list(peers):
        chains = rules.get(_tool(address))
        if chains is None:
            continue  # a family the node cannot filter: it cannot use it either
        if address in peers:
            chains["O"].append(["-d", address, "-j", "DROP"])
        chains["I"].append(["-s", address, "-j", "DROP"])
        chains["F"] += [["-d", address, "-j", "DROP"], ["-s", address, "-j", "DROP"]]
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


def install_chains(run: Callable[..., str], tool: str, tag: str, chains: dict[str, list[list[str]]]) -> None:
    """Our chains TAG-O/-I/-F filled, then jumped to from the top of OUTPUT/INPUT/FORWARD: the
    jumps are the moment the fault starts. run(*argv) runs the tool where it applies."""
    for part, rules in chains.items():
        run(tool, "-w", "5", "-N", f"{tag}-{part}")
        for rule in rules:
            run(tool, "-w", "5", "-A", f"{tag}-{part}", *rule)
    for part in chains:
        run(tool, "-w", "5", "-I", PARENTS[part], "1", "-j", f"{tag}-{part}")


def remove_chains(run: Callable[..., str], tool: str, tag: str) -> None:
    """Every jump to our chains, then the chains: whatever an interrupted apply or a retried
    revert left; none there is no error."""
    try:
        run(tool, "-w", "5", "-S", "OUTPUT")
    except HostError:
        return  # no such tool here: nothing of ours in it either
    for part, parent in PARENTS.items():
        chain = f"{tag}-{part}"
        while True:
            try:
                run(tool, "-w", "5", "-D", parent, "-j", chain)
            except HostError:
                break
        for flag in ("-F", "-X"):
            try:
                run(tool, "-w", "5", flag, chain)
            except HostError as err:
                if "No chain" not in str(err) and "does not exist" not in str(err):
                    raise


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
    for tool, chains in partition_rules(servers, spec.get("peers", []), _usable_tools()).items():
        install_chains(on_host, tool, spec["tag"], chains)


def _usable_tools() -> list[str]:
    """iptables, and ip6tables where the node has it (a node without it cannot talk IPv6 to filter)."""
    usable = ["iptables"]
    try:
        on_host("ip6tables", "-w", "5", "-n", "-L", "OUTPUT")
        usable.append("ip6tables")
    except HostError:
        pass
    return usable


def _heal(spec: dict) -> None:
    for tool in TOOLS:
        remove_chains(on_host, tool, spec["tag"])


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

# ---- pod-network: loss, drops and (where the kernel has netem) delay in a pod's own network ----
# Inside the pod's network namespace (any of its processes': the pod's sandbox holds it), so only
# that pod is touched: iptables chains of ours for loss (the statistic match) and drops to
# destinations; tc netem for delay and corruption, refused with the reason on a kernel without it.

def pod_pid(pod_uid: str) -> int | None:
    """A process of the pod (its sandbox lives as long as the pod): the cgroup path names the pod's
    UID, with dashes (cgroupfs) or underscores (systemd)."""
    return container_pid(f"pod{pod_uid}") or container_pid(f"pod{pod_uid.replace('-', '_')}")


def in_pod_net(pid: int) -> Callable[..., str]:
    """run(*argv): the image's own tool in the pod's network namespace."""
    return lambda *argv: _run(["nsenter", "--target", str(pid), "--net", "--", *argv])


def pod_network_rules(spec: dict) -> dict[str, list[list[str]]]:
    """Chain part (O egress, I ingress) -> rules: loss_pct of packets dropped at random (both
    ways unless egress_only), every drop_to destination ("ADDRESS[/BITS][:PORT]") dropped."""
    rules = {"O": [], "I": []}
    if spec.get("loss_pct"):
        random_drop = ["-m", "statistic", "--mode", "random", "--probability", f"{spec['loss_pct'] / 100:.4f}",
                       "-j", "DROP"]
        rules["O"].append(random_drop)
        if not spec.get("egress_only"):
            rules["I"].append(random_drop)
    for destination in spec.get("drop_to", []):
        address, _, port = destination.partition(":") if destination.count(":") == 1 else (destination, "", "")
        rules["O"].append(["-d", address, *(["-p", "tcp", "--dport", port] if port else []), "-j", "DROP"])
    return {part: found for part, found in rules.items() if found}


def netem_argv(spec: dict) -> list[str]:
    argv = []
    if spec.get("delay_ms"):
        argv += ["delay", f"{spec['delay_ms']}ms", *([f"{spec['jitter_ms']}ms"] if spec.get("jitter_ms") else [])]
    if spec.get("corrupt_pct"):
        argv += ["corrupt", f"{spec['corrupt_pct']}%"]
    return argv


def netem_supported() -> str | None:
    """Why this kernel cannot delay or corrupt packets (None if it can): netem tried on the
    loopback of a scratch network namespace, touching nothing of the node's."""
    try:
        _run(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], 20)
    except HostError as err:
        return f"the node's kernel has no netem qdisc (sch_netem), so no delay or corruption here ({err}); loss and drops work"
    return None


def _default_device(run: Callable[..., str]) -> str:
    words = run("ip", "-o", "route", "show", "default").split()
    return words[words.index("dev") + 1] if "dev" in words else "eth0"


def _disturbable(spec: dict) -> str | None:
    if not (pod_network_rules(spec) or netem_argv(spec)):
        return "nothing to disturb: no loss_pct, drop_to, delay_ms or corrupt_pct"
    if why := host_reachable():
        return why
    pid = pod_pid(spec["pod_uid"])
    if pid is None:
        return f"pod {spec['pod_uid']} has no process on this node (not running, or not here)"
    if os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/1/ns/net"):
        return "the pod uses the node's own network (hostNetwork): a network fault there would hit the whole node"
    try:
        in_pod_net(pid)("iptables", "-w", "5", "-n", "-L", "OUTPUT")
    except HostError as err:
        return f"iptables cannot be used in the pod's network namespace: {err}"
    return netem_supported() if netem_argv(spec) else None


def _disturb(spec: dict) -> None:
    pid = pod_pid(spec["pod_uid"])
    if pid is None:
        raise HostError(f"pod {spec['pod_uid']} is gone")
    run = in_pod_net(pid)
    if chains := pod_network_rules(spec):
        install_chains(run, "iptables", spec["tag"], chains)
    if netem := netem_argv(spec):
        run("tc", "qdisc", "add", "dev", _default_device(run), "root", "netem", *netem)


def _undisturb(spec: dict) -> None:
    pid = pod_pid(spec["pod_uid"])
    if pid is None:
        return  # the pod is gone, and its network namespace with everything in it
    run = in_pod_net(pid)
    remove_chains(run, "iptables", spec["tag"])
    if netem_argv(spec):
        try:
            run("tc", "qdisc", "del", "dev", _default_device(run), "root", "netem")
        except HostError as err:
            if "No such file" not in str(err) and "handle of zero" not in str(err) and "Invalid handle" not in str(err):
                raise


POD_NETWORK = HostFault("pod-network", _disturbable, _disturb, _undisturb)

FAULTS = {f.name: f for f in (KUBELET_STOP, NODE_PARTITION, POD_STRESS, POD_NETWORK)}
