"""Where load may go: loopback, or from a pod of the cluster under test a Service of the stack's
own namespace; nothing else, however the name is dressed up."""

import pytest

from loadtests.runner import LoadError, load_target


@pytest.mark.parametrize("url,namespace", [
    ("http://127.0.0.1:30080", ""),
    ("http://localhost:8080/api", ""),
    ("http://core-api.gameday.svc:8080", "gameday"),
    ("http://core-api.gameday.svc.cluster.local:8080", "gameday"),
])
def test_allowed(url, namespace):
    assert load_target(url, namespace) == url


@pytest.mark.parametrize("url,namespace", [
    ("http://192.0.2.1:80", ""),
    ("http://192.0.2.1:80", "gameday"),
    ("http://core-api.gameday.svc:8080", ""),                # a Service name, but not running in-cluster
    ("http://core-api.monitoring.svc:9090", "gameday"),      # another namespace
    ("http://a.b.gameday.svc:8080", "gameday"),            # not a Service name
    ("http://gameday.svc.cluster.local:8080", "gameday"),
    ("not a url", ""),
])
def test_refused(url, namespace):
    with pytest.raises(LoadError, match="--host"):
        load_target(url, namespace)
