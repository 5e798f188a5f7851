"""What `gameday init` guesses from a namespace's objects (built here as the API serves them),
each guess with its reason, and what it cannot know marked for the user to confirm."""

import yaml

from core.discovery import guess_stack
from core.weak_spots import Namespace
from edge.stack import load_stack
from gameday.init import stack_text


def deployment(name, labels, probe=True):
    container = {"name": name, **({"readinessProbe": {"httpGet": {"path": "/readyz"}}} if probe else {})}
    return {"kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def service(name, selector, kind="ClusterIP", node_port=None):
    port = {"name": "http", "port": 80, **({"nodePort": node_port} if node_port else {})}
    return {"kind": "Service", "metadata": {"name": name}, "spec": {"type": kind, "selector": selector, "ports": [port]}}


def hpa(name, target):
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": 2, "maxReplicas": 4}}


def pdb(name, labels):
    return {"kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": {"selector": {"matchLabels": labels}}}


SHOP = Namespace(workloads=[deployment("cart", {"app": "cart"}), deployment("web", {"app": "web"}),
                            {"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {}}],
                 pods=[], pdbs=[pdb("cart", {"app": "cart"}), pdb("web", {"app": "web"})],
                 hpas=[hpa("cart", "cart"), hpa("web-hpa", "web")])
SERVICES = [service("cart", {"app": "cart"}), service("web", {"app": "web"}, "NodePort", 30100)]


def test_the_node_port_service_is_the_entry_and_its_deployment_plays_every_role():
    guess = guess_stack("kind-shop", "shop", SHOP, SERVICES, [], "http://127.0.0.1:30090")
    assert guess.values["urls"] == {"entry": "http://127.0.0.1:30100", "prometheus": "http://127.0.0.1:30090"}
    assert guess.values["roles"] == {"entry": "web", "scaled": "web-hpa", "budgeted": "web"}
    assert (guess.values["deployments"], guess.values["pdbs"]) == (["cart", "web"], ["cart", "web"])
    assert any("NodePort" in r for r in guess.reasons) and any("StatefulSets db" in r for r in guess.reasons)
    assert any(c.startswith("urls.entry: node port 30100") for c in guess.confirm)
    assert any(c.startswith("slo.objectives") for c in guess.confirm)


def test_an_ingress_backend_is_the_entry_when_nothing_is_on_a_node_port():
    ingress = {"kind": "Ingress", "metadata": {"name": "shop"}, "spec": {"rules": [{"http": {"paths": [
        {"path": "/", "backend": {"service": {"name": "cart", "port": {"number": 80}}}}]}}]}}
    services = [service("web", {"app": "web"}), service("cart", {"app": "cart"})]
    guess = guess_stack("kind-shop", "shop", SHOP, services, [ingress], "http://127.0.0.1:30090")
    assert guess.values["roles"]["entry"] == "cart" and any("an Ingress routes to Service cart" in r for r in guess.reasons)
    assert any("not on a node port" in c for c in guess.confirm)


def test_missing_roles_and_probes_are_said_not_invented():
    bare = Namespace([deployment("web", {"app": "web"}, probe=False)], [], [], [])
    guess = guess_stack("kind-shop", "shop", bare, [service("web", {"app": "web"}, "NodePort", 30100)], [], "http://p:9090")
    assert guess.values["roles"] == {"entry": "web"}
    assert any(r.startswith("roles.scaled: none") for r in guess.reasons)
    assert any(r.startswith("roles.budgeted: none") for r in guess.reasons)
    assert any("without a readiness probe" in c for c in guess.confirm)


def test_the_written_file_is_a_stack_file_the_suite_loads(tmp_path):
    guess = guess_stack("kind-shop", "shop", SHOP, SERVICES, [], "http://127.0.0.1:30090")
    path = tmp_path / "stack.yaml"
    path.write_text(stack_text(guess))
    assert path.read_text().startswith("# Written by `gameday init shop`")
    stack = load_stack(path)
    assert (stack.namespace, stack.entry_url, stack.roles["entry"], stack.paths) == \
        ("shop", "http://127.0.0.1:30100", "web", ("/",))
    assert yaml.safe_load(path.read_text())["slo"]["server_selector"] == 'namespace="shop"'
