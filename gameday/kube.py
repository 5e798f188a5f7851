"""The Kubernetes client every action and probe uses: the stack's kube context (stack.yaml: kube_context,
or $GAMEDAY_STACK's, unless the caller holds its Stack and names the context), never whatever the
kubeconfig's current context happens to be. The context `in-cluster` is the pod's own
ServiceAccount: the suite running inside the cluster it tests (deploy/runner)."""

from kubernetes import client, config

from gameday.stack import load_stack

IN_CLUSTER = "in-cluster"
# (connect, read) seconds: the client's default is no timeout at all, and a frozen API server would
# hold a game day, its rollbacks included, forever. Calls are short; a watch passes a timeout of its
# own (the sampler's). poll() retries a timed-out call as a transient error.
REQUEST_TIMEOUT_S = (5.0, 30.0)


class TimedApiClient(client.ApiClient):
    """An ApiClient whose every call times out, unless its caller sets a timeout of its own."""

    def call_api(self, *args, _request_timeout=None, **kwargs):
        return super().call_api(*args, _request_timeout=_request_timeout or REQUEST_TIMEOUT_S, **kwargs)


def api_client(context: str | None = None) -> client.ApiClient:
    """Raises config.ConfigException for a context the kubeconfig lacks (or `in-cluster` outside a pod)."""
    context, configuration = context or load_stack().kube_context, client.Configuration()
    if context == IN_CLUSTER:
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(context=context, client_configuration=configuration)
    return TimedApiClient(configuration)


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
