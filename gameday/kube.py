"""The Kubernetes client every action and probe uses: the stack's kube context (stack.yaml: kube_context,
or $GAMEDAY_STACK's, unless the caller holds its Stack and names the context), never whatever the
kubeconfig's current context happens to be."""

from kubernetes import client, config

from gameday.stack import load_stack


def api_client(context: str | None = None) -> client.ApiClient:
    return config.new_client_from_config(context=context or load_stack().kube_context)


def core_api(context: str | None = None) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(context))


def apps_api(context: str | None = None) -> client.AppsV1Api:
    return client.AppsV1Api(api_client(context))


def autoscaling_api(context: str | None = None) -> client.AutoscalingV2Api:
    return client.AutoscalingV2Api(api_client(context))


def worker_zones(context: str | None = None) -> dict[str, str]:
    """{node: zone} of the schedulable (non-control-plane) nodes; a node without the zone label
    is its own zone."""
    nodes = core_api(context).list_node(label_selector="!node-role.kubernetes.io/control-plane").items
    return {n.metadata.name: n.metadata.labels.get("topology.kubernetes.io/zone", n.metadata.name) for n in nodes}
