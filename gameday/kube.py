"""The Kubernetes client every action and probe uses: the stack's kube context (stack.yaml: kube_context,
or $GAMEDAY_STACK's), never whatever the kubeconfig's current context happens to be."""

from kubernetes import client, config

from gameday.stack import load_stack


def api_client() -> client.ApiClient:
    return config.new_client_from_config(context=load_stack().kube_context)


def core_api() -> client.CoreV1Api:
    return client.CoreV1Api(api_client())


def apps_api() -> client.AppsV1Api:
    return client.AppsV1Api(api_client())


def autoscaling_api() -> client.AutoscalingV2Api:
    return client.AutoscalingV2Api(api_client())
