"""Faults on the node itself: its kubelet stopped, or the node cut off from the API servers (and,
with peers, from every other node and its pods)."""

from agent.host import (ON_HOST_NET, TOOLS, HostError, HostFault, host_reachable, install_chains, on_host,
                        remove_chains, run, systemd_unit_active)
from core import agents as protocol

# ---- kubelet-stop: the node NotReady while its containers run on ----


def _kubelet_stoppable(spec: dict) -> str | None:
    return host_reachable() or systemd_unit_active("kubelet")


KUBELET_STOP = HostFault("kubelet-stop", _kubelet_stoppable, lambda spec: on_host("systemctl", "stop", "kubelet"),
                         lambda spec: on_host("systemctl", "start", "kubelet"))


# ---- node-partition: the node cut off from the API servers (and, with peers, the other nodes) ----
# In chains of the agent's own (agent.host), on the node. The agent's own traffic (its group,
# core.agents.AGENT_GID) is exempt, so it can still read its Lease: the dead-man's switch works
# through the partition.

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
    for line in run([*ON_HOST_NET, "ss", "-Htn", "state", "established"]).splitlines():
        peer = line.split()[-1]
        address, _, port = peer.rpartition(":")
        if port.isdigit() and int(port) in ports:
            found.append([address.strip("[]").split("%")[0], int(port)])
    return found


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
