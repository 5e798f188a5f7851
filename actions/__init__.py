"""Chaos Toolkit actions of the suite: plain functions with typed arguments, plain data back."""

# which action undoes which: a fault lasts from the action to the first run of its undoing one
# (in the method or in the rollbacks); the report shades that stretch
UNDONE_BY = {
    "stop_nodes": "start_stopped_nodes",
    "drain_node": "uncordon_drained_nodes",
    "set_container_env": "restore_deployments",
    "scale_to": "restore_deployments",
}
