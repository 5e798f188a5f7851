"""A frozen API server (it takes the connection and never answers) does not hold the suite: every
call through edge.kube times out, and the timeout is the transient error poll() retries."""

import socket

import pytest
import yaml
from kubernetes.config import kube_config

from edge import kube
from edge.poll import transient


@pytest.fixture
def frozen_api_server(tmp_path, monkeypatch):
    """A kubeconfig context `frozen` whose server listens on loopback and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)  # the kernel completes the handshakes; nobody ever reads the request
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "frozen",
              "clusters": [{"name": "frozen", "cluster": {"server": f"http://127.0.0.1:{server.getsockname()[1]}"}}],
              "users": [{"name": "someone", "user": {"token": "not-a-secret"}}],
              "contexts": [{"name": "frozen", "context": {"cluster": "frozen", "user": "someone"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    monkeypatch.setattr(kube, "REQUEST_TIMEOUT_S", (1.0, 1.0))
    yield "frozen"
    server.close()


def test_a_call_to_a_frozen_api_server_times_out_as_a_transient_error(frozen_api_server):
    with pytest.raises(Exception) as raised:
        kube.core_api(frozen_api_server).list_node()
    assert transient(raised.value), repr(raised.value)
    assert "timed out" in str(raised.value).lower(), repr(raised.value)


def test_a_caller_may_set_its_own_timeout(frozen_api_server):
    with pytest.raises(Exception) as raised:
        kube.core_api(frozen_api_server).read_namespace("gameday", _request_timeout=(1.0, 2.0))
    assert "read timeout=2.0" in str(raised.value), repr(raised.value)
