"""The host's own tools, reached from the agent's pod: hostPID makes the host's PID 1 visible, and
nsenter runs a command in all of its namespaces, so `systemctl` is the node's, not the image's.
Each fault first checks the node allows it and says why not, rather than half-applying."""

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ON_HOST = ("nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--")


class HostError(RuntimeError):
    pass


def on_host(*argv: str, timeout_s: float = 60) -> str:
    """Runs argv in the host's namespaces; HostError with its output when it fails."""
    try:
        proc = subprocess.run([*ON_HOST, *argv], capture_output=True, text=True, timeout=timeout_s)
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
    preflight: Callable[[], str | None]   # why the node does not allow it, or None
    apply: tuple[str, ...]
    revert: tuple[str, ...]


def _kubelet_stoppable() -> str | None:
    return host_reachable() or systemd_unit_active("kubelet")


FAULTS = {f.name: f for f in (
    HostFault("kubelet-stop", _kubelet_stoppable, ("systemctl", "stop", "kubelet"), ("systemctl", "start", "kubelet")),
)}
