"""Fixtures for the tests that run against the real kind cluster `make cluster` brings up."""

import uuid

import pytest
from kubernetes import client, config

from tests.kube import CONTEXT
from tests.waiting import wait_until


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def api_client():
    try:
        return config.new_client_from_config(context=CONTEXT)
    except config.ConfigException as err:
        pytest.fail(f"kube context {CONTEXT!r} not found ({err}): run `make cluster` first")


@pytest.fixture(scope="session")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps(api_client):
    return client.AppsV1Api(api_client)


E2E_LABEL = {"kube-gameday/e2e": "true"}


def delete_namespaces(core, names, timeout=180):
    """Deletes the namespaces and waits until they are gone (their NodePorts freed)."""
    for name in names:
        try:
            core.delete_namespace(name)
        except client.ApiException as err:
            if err.status != 404:
                raise
    wait_until(lambda: not any(ns.metadata.name in names for ns in core.list_namespace().items),
               timeout, what=f"namespaces {sorted(names)} to be deleted")


@pytest.fixture(scope="module")
def namespace(core):
    """A fresh namespace per test module, deleted afterwards (and any an aborted run left)."""
    selector = ",".join(f"{k}={v}" for k, v in E2E_LABEL.items())
    leftovers = {ns.metadata.name for ns in core.list_namespace(label_selector=selector).items}
    if leftovers:
        delete_namespaces(core, leftovers)
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=E2E_LABEL)))
    yield name
    delete_namespaces(core, {name})
