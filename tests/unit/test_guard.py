"""The guard's rules over files and experiments built here: a context not allowed, a namespace
not the stack's, kube-system, a malformed allowlist: each refused with the file, the field and
the way to allow it."""

from dataclasses import replace

import pytest
import yaml

from edge.stack import load_stack
from core.target import namespace_refusal
from gameday.guard import Allowlist, GuardError, check_context, check_experiment_namespaces, load_allowlist

STACK = load_stack()


def test_the_seed_allowlist_allows_the_local_kind_cluster_only():
    allow = load_allowlist()
    assert allow.contexts == ("kind-gameday",) and allow.namespaces == ()
    check_context(STACK, allow)


def test_a_context_not_listed_is_refused_with_the_way_to_allow_it():
    prod = replace(STACK, kube_context="prod-eu-1")
    with pytest.raises(GuardError) as refused:
        check_context(prod, load_allowlist())
    message = str(refused.value)
    assert "'prod-eu-1'" in message and "guard.yaml" in message and "--allow-context prod-eu-1" in message
    check_context(prod, load_allowlist().extended(contexts=["prod-eu-1"]))


@pytest.mark.parametrize("ns,allowed,refused", [
    ("gameday", (), False), ("payments", (), True), ("payments", ("payments",), False),
    ("kube-system", (), True), ("kube-system", ("kube-system",), False)])
def test_namespaces_the_stacks_own_or_allowed_by_name(ns, allowed, refused):
    assert bool(namespace_refusal(ns, "gameday", allowed)) == refused


def test_kube_system_is_refused_even_as_the_stacks_own():
    assert "off limits" in namespace_refusal("kube-system", "kube-system", ())


def test_an_experiment_naming_another_namespace_is_refused_naming_the_activity(tmp_path):
    experiment = {"method": [{"type": "action", "name": "kill-dns", "provider": {
        "type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods",
        "arguments": {"label_selector": "k8s-app=kube-dns", "ns": "kube-system"}}}]}
    with pytest.raises(GuardError) as refused:
        check_experiment_namespaces(experiment, "x.yaml", STACK, load_allowlist())
    assert "x.yaml: method[0] (kill-dns): argument ns: namespace 'kube-system' is off limits" in str(refused.value)
    ours = {"method": [{**experiment["method"][0], "provider": {**experiment["method"][0]["provider"],
                                                               "arguments": {"ns": "${namespace}"}}}]}
    check_experiment_namespaces(ours, "x.yaml", STACK, load_allowlist())


@pytest.mark.parametrize("arguments,refusal", [
    ("-n kube-system delete pod coredns", "option -n: namespace 'kube-system' is off limits"),
    (["scale", "--namespace=payments", "deploy/api", "--replicas=0"], "option --namespace: namespace 'payments'"),
    ("--context prod-eu-1 -n ${namespace} scale deploy/api --replicas=0", "option --context: kube context 'prod-eu-1'"),
])
def test_a_command_naming_another_namespace_or_context_is_refused(arguments, refusal):
    """A process activity (kubectl, say) names what it touches on its command line, string or list."""
    experiment = {"method": [{"type": "action", "name": "kubectl", "provider": {
        "type": "process", "path": "kubectl", "arguments": arguments}}]}
    with pytest.raises(GuardError, match=refusal.replace("$", r"\$")):
        check_experiment_namespaces(experiment, "x.yaml", STACK, load_allowlist())
    ours = {"method": [{**experiment["method"][0], "provider": {"type": "process", "path": "kubectl", "arguments":
                                                                "--context kind-gameday -n ${namespace} get pods"}}]}
    check_experiment_namespaces(ours, "x.yaml", STACK, load_allowlist())


@pytest.mark.parametrize("document,field", [({"contexts": "kind-gameday"}, "contexts"),
                                            ({"contexts": [], "clusters": []}, "contexts:"),
                                            ({"namespaces": [1]}, "namespaces")])
def test_a_malformed_allowlist_is_named(tmp_path, document, field):
    path = tmp_path / "guard.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(GuardError) as refused:
        load_allowlist(path)
    assert str(path) in str(refused.value) and field in str(refused.value)


def test_the_allowlist_is_extended_per_run_not_edited():
    allow = Allowlist("guard.yaml", ("a",), ())
    assert allow.extended(["b"], ["ns"]) == Allowlist("guard.yaml", ("a", "b"), ("ns",)) and allow.contexts == ("a",)
