"""Fixtures for the tests that run against the real kind cluster `make cluster` brings up."""

import os
import subprocess
import time
import uuid

import pytest
from kubernetes import client, config

CONTEXT = os.environ.get("KUBE_CONTEXT", "kind-gameday")


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


def kubectl(*args, input=None, check=True):
    """kubectl against the test context; returns stdout."""
    proc = subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        input=input, capture_output=True, text=True, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def docker(*args):
    """docker CLI; returns stdout (the kind nodes are docker containers)."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def wait_until(predicate, timeout, interval=2.0, what="condition"):
    """Polls predicate() until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


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
