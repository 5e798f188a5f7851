"""Faults inside one pod, from the node it runs on: CPU and memory pressure in its own cgroups,
loss, drops and delay in its own network namespace."""

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from agent.host import (HostError, HostFault, container_pid, host_has, host_reachable, install_chains, on_host,
                        remove_chains, run)
from core.agents import AGENT_GID

# ---- pod-stress: CPU and memory pressure inside a pod's own cgroups ----
# stress-ng (the agent image's, Debian's) started held at a shell's `read`, moved into the target
# container's cgroups (every hierarchy: its CPU and memory are charged to the container, what its
# limits throttle and the HPA sees), then let go. It dies with the agent (PR_SET_PDEATHSIG) and
# at its own --timeout, the fault's deadline: nothing outlives the agent that started it.

STRESSES: dict[str, subprocess.Popen] = {}  # tag -> the stress-ng held or running for it
PR_SET_PDEATHSIG = 1


def cgroup_dirs(pid: int) -> list[str]:
    """The directories of every cgroup hierarchy the process is in, as the host mounts them (read
    in the host's cgroup namespace: a pod's own would hide the path above it)."""
    unified = "/sys/fs/cgroup" if host_has("-e", "/sys/fs/cgroup/cgroup.controllers") else "/sys/fs/cgroup/unified"
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
    missing = [d for d in cgroup_dirs(pid) if not host_has("-d", d)]
    return f"the container's cgroups are not on the host's /sys/fs/cgroup: {', '.join(missing)}" if missing else None


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

# ---- pod-network: loss, drops and delay in a pod's own network ----
# Inside the pod's network namespace (any of its processes': the pod's sandbox holds it), so only
# that pod is touched: iptables chains of ours for loss (the statistic match) and drops to
# destinations; delay to destinations by a TCP delay line of the agent's (agent.delay_proxy) the
# pod's connections are redirected through, on any kernel; tc netem for a delay of everything the
# pod sends and for corruption, refused with the reason on a kernel without netem.

def pod_pid(pod_uid: str) -> int | None:
    """A process of the pod (its sandbox lives as long as the pod): the cgroup path names the pod's
    UID, with dashes (cgroupfs) or underscores (systemd)."""
    return container_pid(f"pod{pod_uid}") or container_pid(f"pod{pod_uid.replace('-', '_')}")


def in_pod_net(pid: int) -> Callable[..., str]:
    """run(*argv): the image's own tool in the pod's network namespace."""
    return lambda *argv: run(["nsenter", "--target", str(pid), "--net", "--", *argv])


def destination_match(destination: str, tcp: bool = False) -> list[str]:
    """iptables' match for "ADDRESS[/BITS][:PORT]" (a port, or `tcp`: TCP only)."""
    address, _, port = destination.partition(":") if destination.count(":") == 1 else (destination, "", "")
    return ["-d", address, *(["-p", "tcp"] if port or tcp else []), *(["--dport", port] if port else [])]


def pod_network_rules(spec: dict) -> dict[str, list[list[str]]]:
    """Chain part (O egress, I ingress) -> rules: loss_pct of packets dropped at random (both
    ways unless egress_only), every drop_to destination dropped, and every connection to a
    delay_to destination the pod had open before the delay reset (a new one goes through the
    delay line; the line's own, in the agent's group, pass)."""
    rules = {"O": [], "I": []}
    if spec.get("loss_pct"):
        random_drop = ["-m", "statistic", "--mode", "random", "--probability", f"{spec['loss_pct'] / 100:.4f}",
                       "-j", "DROP"]
        rules["O"].append(random_drop)
        if not spec.get("egress_only"):
            rules["I"].append(random_drop)
    for destination in spec.get("drop_to", []):
        rules["O"].append([*destination_match(destination), "-j", "DROP"])
    for destination in spec.get("delay_to", []):
        rules["O"].append([*destination_match(destination, tcp=True), "-m", "owner", "!", "--gid-owner",
                           str(AGENT_GID), "-j", "REJECT", "--reject-with", "tcp-reset"])
    return {part: found for part, found in rules.items() if found}


def delay_redirects(spec: dict, port: int) -> dict[str, list[list[str]]]:
    """nat OUTPUT rules sending the pod's new TCP connections to each delay_to destination to the
    delay line's port; the line's own connections (the agent's group) leave as they are."""
    return {"O": [[*destination_match(d, tcp=True), "-m", "owner", "!", "--gid-owner", str(AGENT_GID),
                   "-j", "REDIRECT", "--to-ports", str(port)] for d in spec.get("delay_to", [])]}


def netem_argv(spec: dict) -> list[str]:
    """netem's arguments: a delay of everything the pod sends (none with delay_to: the delay line
    takes it), corruption."""
    argv = []
    if spec.get("delay_ms") and not spec.get("delay_to"):
        argv += ["delay", f"{spec['delay_ms']}ms", *([f"{spec['jitter_ms']}ms"] if spec.get("jitter_ms") else [])]
    if spec.get("corrupt_pct"):
        argv += ["corrupt", f"{spec['corrupt_pct']}%"]
    return argv


def netem_supported() -> str | None:
    """Why this kernel cannot delay or corrupt packets (None if it can): netem tried on the
    loopback of a scratch network namespace, touching nothing of the node's."""
    try:
        run(["unshare", "--net", "--", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], 20)
    except HostError as err:
        return f"the node's kernel has no netem qdisc (sch_netem), so no delay or corruption here ({err}); loss and drops work"
    return None


def _default_device(run: Callable[..., str]) -> str:
    words = run("ip", "-o", "route", "show", "default").split()
    return words[words.index("dev") + 1] if "dev" in words else "eth0"


def _disturbable(spec: dict) -> str | None:
    if not (pod_network_rules(spec) or netem_argv(spec)):
        return "nothing to disturb: no loss_pct, drop_to, delay_ms or corrupt_pct"
    if spec.get("delay_to") and not spec.get("delay_ms"):
        return "delay_to without delay_ms: a delay of nothing is no fault"
    if why := host_reachable():
        return why
    pid = pod_pid(spec["pod_uid"])
    if pid is None:
        return f"pod {spec['pod_uid']} has no process on this node (not running, or not here)"
    if os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/1/ns/net"):
        return "the pod uses the node's own network (hostNetwork): a network fault there would hit the whole node"
    for table in ("filter", "nat") if spec.get("delay_to") else ("filter",):
        try:
            in_pod_net(pid)("iptables", "-w", "5", "-t", table, "-n", "-L", "OUTPUT")
        except HostError as err:
            return f"iptables' {table} table cannot be used in the pod's network namespace: {err}"
    return netem_supported() if netem_argv(spec) else None


# The delay lines running, by fault tag; a revert ends its line (no more delay; each connection it
# carries closed between two exchanges) and waits this long for it before killing it.
DELAY_LINES: dict[str, subprocess.Popen] = {}
DELAY_LINE_GRACE_S = 10


def _start_delay_line(pid: int, spec: dict) -> int:
    """A delay line (agent.delay_proxy) in the pod's network namespace; its port."""
    line = subprocess.Popen(
        ["nsenter", "--target", str(pid), "--net", "--", sys.executable, "-m", "agent.delay_proxy",
         "--delay-ms", str(spec["delay_ms"]), "--jitter-ms", str(spec.get("jitter_ms") or 0)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_die_with_the_agent)
    DELAY_LINES[spec["tag"]] = line
    said, _, _ = select.select([line.stdout], [], [], 10)
    port = line.stdout.readline().strip() if said else ""
    if not port.isdigit():
        _stop_delay_line(spec["tag"], grace_s=0)
        raise HostError(f"the delay line did not start in the pod's network namespace: {line.stderr.read()[-300:]}")
    return int(port)


def _stop_delay_line(tag: str, grace_s: float = DELAY_LINE_GRACE_S) -> None:
    line = DELAY_LINES.pop(tag, None)
    if line is None:
        return
    line.terminate()  # no more delay, no new connection; the open ones finish
    try:
        line.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(line.pid, signal.SIGKILL)
        line.wait()


def _disturb(spec: dict) -> None:
    pid = pod_pid(spec["pod_uid"])
    if pid is None:
        raise HostError(f"pod {spec['pod_uid']} is gone")
    run = in_pod_net(pid)
    if spec.get("delay_to"):  # redirected first: the reset of the connections open before it comes next
        install_chains(run, "iptables", spec["tag"], delay_redirects(spec, _start_delay_line(pid, spec)), table="nat")
    if chains := pod_network_rules(spec):
        install_chains(run, "iptables", spec["tag"], chains)
    if netem := netem_argv(spec):
        run("tc", "qdisc", "add", "dev", _default_device(run), "root", "netem", *netem)


def _undisturb(spec: dict) -> None:
    pid = pod_pid(spec["pod_uid"])
    if pid is None:  # the pod is gone, and its network namespace with everything in it
        _stop_delay_line(spec["tag"], grace_s=0)
        return
    run = in_pod_net(pid)
    remove_chains(run, "iptables", spec["tag"])  # no more resets, nor drops, nor loss
    if spec.get("delay_to"):
        _end_delay(run, spec["tag"])
    if netem_argv(spec):
        try:
            run("tc", "qdisc", "del", "dev", _default_device(run), "root", "netem")
        except HostError as err:
            if not any(gone in str(err) for gone in ("No such file", "handle of zero", "Invalid handle")):
                raise


def _end_delay(run: Callable[..., str], tag: str) -> None:
    """New connections go direct first (a RETURN ahead of the redirect: taking the redirect away
    would drop the address translation of the connections the line carries, and cut them); the
    line stops delaying and closes each connection between two exchanges; then the redirect goes."""
    try:
        run("iptables", "-w", "5", "-t", "nat", "-I", f"{tag}-O", "1", "-j", "RETURN")
    except HostError as err:
        if "No chain" not in str(err) and "does not exist" not in str(err):
            raise
    _stop_delay_line(tag)
    remove_chains(run, "iptables", tag, table="nat")


POD_NETWORK = HostFault("pod-network", _disturbable, _disturb, _undisturb)
