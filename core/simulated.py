"""Simulated nodes (cluster/scripts/kwok.sh, `make cluster KWOK_NODES=N`): KWOK keeps them Ready
for the scheduler and the node lifecycle controller while nothing runs on them. Their pods use no
CPU and serve nothing: they answer scheduling questions (capacity, spreads, PDBs after a zone
loss), never load or latency ones. The suite's node faults on real machines never pick them."""

SIMULATED_LABEL = "kwok.x-k8s.io/node"        # =fake on every simulated node, and its taint
SIMULATED = f"{SIMULATED_LABEL}=fake"
NOT_SIMULATED = f"!{SIMULATED_LABEL}"
# a simulated node with this label (its value: the zone lost) is out of KWOK's selector: its
# Lease expires and the node lifecycle controller sees it as a kubelet cut off (kwok.sh)
LOST_LABEL = "kube-gameday.io/lost"
SIMULATED_ZONES = 3                           # kwok.sh spreads them over sim-zone-a, -b and -c
TOLERATION = {"key": SIMULATED_LABEL, "operator": "Equal", "value": "fake", "effect": "NoSchedule"}


def is_simulated(labels: dict | None) -> bool:
    return SIMULATED_LABEL in (labels or {})

# a scaled copy of the stack on simulated nodes (actions.scaled_copy) lives in a namespace the
# suite makes and labels: the label's value names the namespace copied
COPY_OF = "kube-gameday.io/scaled-copy-of"


def scaled_namespace(namespace: str) -> str:
    return f"{namespace}-scaled"
