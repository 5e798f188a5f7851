"""Every fault the suite's actions (actions/) can leave in place, declared once with the action
that undoes it. The rollbacks an experiment lists, `gameday cleanup` (every undo, no journal
needed), the dry run and the report's fault windows (a fault lasts from its action to the end of
the first run of its undo) all read this table; a test holds it against actions/ and the
experiments.

A fault that ends by itself (a pod killed, a rollout restarted) has no entry: nothing stays.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    action: str     # the function of actions/ that applies it
    module: str
    undo: str       # the function of the same module that undoes it (a rollback)
    undoing: str    # what the undo does, for the dry run


BY_AGENT = "ask every node agent to revert its fault, wait until its node is Ready, remove the agents"
FAULTS: dict[str, Fault] = {f.action: f for f in (
    Fault("drain_node", "actions.nodes", "uncordon_drained_nodes", "uncordon the nodes the suite cordoned"),
    Fault("stop_nodes", "actions.nodes", "start_stopped_nodes",
          "start the node containers stopped by then, and wait until each is Ready"),
    Fault("stop_kubelet", "actions.agents", "revert_agent_faults", BY_AGENT),
    Fault("fail_nodes", "actions.node_failure", "restore_failed_nodes",
          "start the node containers stopped by then and revert the node agents, waiting until each node is Ready"),
    Fault("partition_node", "actions.agents", "revert_agent_faults", BY_AGENT),
    Fault("stress_pods", "actions.pod_faults", "revert_agent_faults", BY_AGENT),
    Fault("disturb_pod_network", "actions.pod_faults", "revert_agent_faults", BY_AGENT),
    Fault("set_container_env", "actions.deployments", "restore_deployments",
          "put back the saved template and replicas of every Deployment the suite changed"),
    Fault("scale_to", "actions.deployments", "restore_deployments",
          "put back the saved template and replicas of every Deployment the suite changed"),
    Fault("lose_simulated_zone", "actions.simulated", "restore_lost_nodes",
          "let KWOK renew the Leases of the simulated nodes marked lost again, and wait until each is Ready"),
    # after the restore: the pods of a lost node go only once KWOK answers for the node again
    Fault("deploy_scaled_copy", "actions.scaled_copy", "delete_scaled_copy",
          "delete the namespaces of the scaled copies of the stack, and wait until they are gone"),
)}
# the undo functions, each once, in the order a cleanup runs them
UNDOS: dict[str, Fault] = {f.undo: f for f in FAULTS.values()}
