"""What the runner (actions.agents) and a node agent (agent/, in its pod on the node) agree on.

A fault on a node's host (its kubelet stopped, ...) is applied by a short-lived agent pod pinned
to that node, one per fault, with a Lease beside it: the runner renews the Lease while the fault
should stay; the agent reports its state on the Lease's annotations and reverts the fault at the
first of its deadline, a revert asked for there, the Lease deleted, or the Lease left unrenewed
for one lease period (the runner killed, its machine gone, the network to it cut).
"""

IMAGE = "kube-gameday/agent:0.1.0"         # built from this repository, tagged with pyproject.toml's version
NAMESPACE = "kube-gameday-agents"          # the agents' own namespace (PodSecurity: privileged)
SERVICE_ACCOUNT = "kube-gameday-agent"     # may read and annotate the Leases there, nothing else
# the agent runs with this group: a fault that cuts the node's network (node-partition) exempts
# the agent's own connections (by group, and the conntrack mark its packets get), so it can still
# read its Lease and revert
AGENT_GID, AGENT_CONNMARK = 4242, "0x4242"
LABEL = "app.kubernetes.io/name=kube-gameday-agent"
LABELS = {"app.kubernetes.io/name": "kube-gameday-agent"}
# the in-cluster runner's Locust workers (loadtests.workers) share the namespace, under this label
LOAD_WORKER_LABEL = "app.kubernetes.io/name=kube-gameday-load-worker"
LOAD_WORKER_LABELS = {"app.kubernetes.io/name": "kube-gameday-load-worker"}

# the Lease's annotations: written by the agent (STATE, REASON, APPLIED_AT, REVERTED_AT), by the
# runner (REVERT; NODE, FAULT and SPEC as it creates the Lease: what a cleanup agent needs to undo
# the fault when the agent that applied it is gone)
STATE, REASON = "kube-gameday/state", "kube-gameday/reason"
APPLIED_AT, REVERTED_AT = "kube-gameday/applied-at", "kube-gameday/reverted-at"
NODE, FAULT, REVERT, SPEC = "kube-gameday/node", "kube-gameday/fault", "kube-gameday/revert", "kube-gameday/spec"
# a cleanup agent (`--revert-only`) is named after the Lease with this suffix
CLEANUP_SUFFIX = "-undo"

# the states, in order; REFUSED and REVERTED end an agent
STARTING, REFUSED, APPLIED, REVERT_FAILED, REVERTED = "starting", "refused", "applied", "revert-failed", "reverted"
ENDED = (REFUSED, REVERTED)

