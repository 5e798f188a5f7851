"""The host's own tools, reached from the agent's pod: hostPID makes the host's PID 1 visible, and
nsenter runs a command in its namespaces, so `systemctl` and `iptables` are the node's, not the
image's. A fault (agent.node_faults, agent.pod_faults) first checks the node allows it and says
why not, rather than half-applying; its revert is idempotent (reverting what was never applied is
no error), so an apply that failed halfway is reverted whole. Each fault takes the spec the runner
gave the agent (core.agents): what it needs to know that only the cluster knows."""

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ON_HOST = ("nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--")
ON_HOST_NET = ("nsenter", "--target", "1", "--net", "--")


class HostError(RuntimeError):
    pass


def on_host(*argv: str, timeout_s: float = 60) -> str:
    """Runs argv in the host's namespaces (its own binary); HostError with its output when it fails."""
    return run([*ON_HOST, *argv], timeout_s)


def run(command: list[str], timeout_s: float = 60) -> str:
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


def host_has(test: str, path: str) -> bool:
    try:
        on_host("test", test, path, timeout_s=10)
        return True
    except HostError:
        return False


# ---- iptables chains of the suite's own (a partition on the node, a pod network fault in the pod) ----
# Chains TAG-O/-I/-F, jumped to from the top of OUTPUT/INPUT/FORWARD: the jumps are the moment
# the fault starts and ends; TAG names the agent, so one agent never touches another's.

PARENTS = {"O": "OUTPUT", "I": "INPUT", "F": "FORWARD"}
TOOLS = ("iptables", "ip6tables")  # IPv4 and IPv6


def install_chains(run: Callable[..., str], tool: str, tag: str, chains: dict[str, list[list[str]]],
                   table: str = "filter") -> None:
    """Our chains TAG-O/-I/-F of `table` filled, then jumped to from the top of
    OUTPUT/INPUT/FORWARD: the jumps are the moment the fault starts. run(*argv) runs the tool
    where it applies."""
    for part, rules in chains.items():
        run(tool, "-w", "5", "-t", table, "-N", f"{tag}-{part}")
        for rule in rules:
            run(tool, "-w", "5", "-t", table, "-A", f"{tag}-{part}", *rule)
    for part in chains:
        run(tool, "-w", "5", "-t", table, "-I", PARENTS[part], "1", "-j", f"{tag}-{part}")


def remove_chains(run: Callable[..., str], tool: str, tag: str, table: str = "filter") -> None:
    """Every jump to our chains of `table`, then the chains: whatever an interrupted apply or a
    retried revert left; none there is no error."""
    try:
        run(tool, "-w", "5", "-t", table, "-S", "OUTPUT")
    except HostError:
        return  # no such tool or table here: nothing of ours in it either
    for part, parent in PARENTS.items():
        chain = f"{tag}-{part}"
        while True:
            try:
                run(tool, "-w", "5", "-t", table, "-D", parent, "-j", chain)
            except HostError:
                break
        for flag in ("-F", "-X"):
            try:
                run(tool, "-w", "5", "-t", table, flag, chain)
            except HostError as err:
                if "No chain" not in str(err) and "does not exist" not in str(err):
                    raise
