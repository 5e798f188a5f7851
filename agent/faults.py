"""Every host fault a node agent can apply, by name (the runner's `--fault`)."""

from agent.node_faults import KUBELET_STOP, NODE_PARTITION
from agent.pod_faults import POD_NETWORK, POD_STRESS

FAULTS = {f.name: f for f in (KUBELET_STOP, NODE_PARTITION, POD_STRESS, POD_NETWORK)}
