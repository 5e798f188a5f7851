"""What a game day may touch, checked before anything touches it.

- The kube context must be in the allowlist (guard.yaml, or $GAMEDAY_GUARD, or --allow-context
  for one run): a shared cluster is never hit by accident, e.g. through a stack file copied
  from a colleague.
- Every namespace an experiment names (its activities' `ns`/`namespace` arguments) must be the
  stack's own or allowed by name; kube-system only when allowed explicitly.
- Control-plane nodes are off limits to the suite's node actions (actions/nodes.py refuses them).
- Then the target must be there: the context in the kubeconfig, its namespace, Prometheus ready.

The actions check the namespaces again when they run, against the Target the runner hands them in
their configuration (target_of); a plain `chaos run` of an edited experiment holds them to the
experiment's own configuration: its namespace and no other.
"""

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from kubernetes import client, config

from core.target import Target, namespace_refusal
from edge.home import default_guard
from edge.kube import IN_CLUSTER, api_client
from edge.stack import Stack

# no guard file anywhere (edge.home.default_guard): only the kind cluster `make cluster` brings up
SUITE_CLUSTER_ONLY = ("kind-gameday",)
NAMESPACE_ARGUMENTS = ("ns", "namespace")


class GuardError(Exception):
    """The target is not one this game day may touch, or not ready to be judged."""


@dataclass(frozen=True)
class Allowlist:
    source: str
    contexts: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()   # besides each stack's own

    def extended(self, contexts=(), namespaces=()) -> "Allowlist":
        return Allowlist(self.source, self.contexts + tuple(contexts), self.namespaces + tuple(namespaces))


def load_allowlist(path: str | Path | None = None) -> Allowlist:
    path = Path(path) if path else default_guard()
    if path is None:
        return Allowlist("the default allowlist (no guard.yaml here nor in $GAMEDAY_HOME)", SUITE_CLUSTER_ONLY)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as err:
        raise GuardError(f"{path}: cannot read the allowlist: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise GuardError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict) or set(data) - {"contexts", "namespaces"}:
        raise GuardError(f"{path}: an allowlist holds `contexts:` and `namespaces:`, lists of names")
    lists = {}
    for key in ("contexts", "namespaces"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise GuardError(f"{path}: field '{key}': a list of names, not {value!r}")
        lists[key] = tuple(value)
    return Allowlist(str(path), **lists)


def check_context(stack: Stack, allow: Allowlist) -> None:
    if stack.kube_context not in allow.contexts:
        raise GuardError(
            f"kube context {stack.kube_context!r} ({stack.source}: kube_context) is not allowed: game days run "
            f"only against the contexts listed in {allow.source} (contexts: {', '.join(allow.contexts) or 'none'}). "
            f"Add it there, or pass --allow-context {stack.kube_context} for this run.")


def _activities(experiment: dict):
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for part, activities in (("steady-state-hypothesis.probes", hypothesis.get("probes") or []),
                             ("method", experiment.get("method") or []), ("rollbacks", experiment.get("rollbacks") or [])):
        for i, activity in enumerate(activities):
            if isinstance(activity, dict):
                yield f"{part}[{i}] ({activity.get('name', '?')})", activity


def check_experiment_namespaces(experiment: dict, source: str, stack: Stack, allow: Allowlist) -> None:
    """Every namespace an activity names (a python provider's ns/namespace argument, a process
    provider's -n/--namespace option, with ${namespace} as the stack's), and every kube context a
    process provider names (--context): the stack's own or allowed."""
    for where, activity in _activities(experiment):
        arguments = (activity.get("provider") or {}).get("arguments") or {}
        named = [(f"argument {k}", v) for k, v in arguments.items() if k in NAMESPACE_ARGUMENTS] \
            if isinstance(arguments, dict) else _command_options(arguments, ("-n", "--namespace"))
        for field, value in named:
            if isinstance(value, str):
                ns = value.replace("${namespace}", stack.namespace)
                if why := namespace_refusal(ns, stack.namespace, allow.namespaces):
                    raise GuardError(f"{source}: {where}: {field}: {why}")
        if not isinstance(arguments, dict):
            for field, context in _command_options(arguments, ("--context",)):
                if context != stack.kube_context and context not in allow.contexts:
                    raise GuardError(f"{source}: {where}: {field}: kube context {context!r} is not the stack's "
                                     f"({stack.kube_context!r}) nor allowed ({allow.source}: contexts)")


def _command_options(arguments, options: tuple[str, ...]) -> list[tuple[str, str]]:
    """The values a process provider's command line gives `options` (`-n X`, `--namespace=X`)."""
    words = shlex.split(arguments) if isinstance(arguments, str) else [str(a) for a in arguments or []]
    found = []
    for i, word in enumerate(words):
        option, eq, value = word.partition("=")
        if option in options:
            value = value if eq else (words[i + 1] if i + 1 < len(words) else "")
            found.append((f"option {option}", value))
    return found


def check_reachable(stack: Stack) -> None:
    """The context is in the kubeconfig, its namespace exists, Prometheus answers."""
    try:
        api = api_client(stack.kube_context)
    except config.ConfigException as err:
        where = "available: not running in a pod" if stack.kube_context == IN_CLUSTER else "in the kubeconfig"
        raise GuardError(f"kube context {stack.kube_context!r} ({stack.source}: kube_context) "
                         f"is not {where}: {err}") from err
    try:
        client.CoreV1Api(api).read_namespace(stack.namespace, _request_timeout=10)
    except client.ApiException as err:
        raise GuardError(f"namespace {stack.namespace!r} ({stack.source}: namespace) in context "
                         f"{stack.kube_context!r}: {err.status} {err.reason}") from err
    except Exception as err:  # connection refused, TLS: the cluster is not there
        raise GuardError(f"context {stack.kube_context!r}: API server unreachable: {err}") from err
    url = f"{stack.prometheus_url}/-/ready"
    try:
        requests.get(url, timeout=10).raise_for_status()
    except requests.RequestException as err:
        raise GuardError(f"Prometheus {url} ({stack.source}: urls.prometheus): {err}") from err


def guard(stack: Stack, experiment: dict | None = None, source: str = "", allow: Allowlist | None = None) -> None:
    """Refuses (GuardError) before any API call if the context or a namespace is not allowed;
    then checks the target is there."""
    allow = allow or load_allowlist()
    check_context(stack, allow)
    if why := namespace_refusal(stack.namespace, stack.namespace, allow.namespaces):
        raise GuardError(f"{stack.source}: namespace: {why}")
    if experiment is not None:
        check_experiment_namespaces(experiment, source, stack, allow)
    check_reachable(stack)


# ---- what the actions get ----

RUNNER_NODE_ENV = "GAMEDAY_RUNNER_NODE"  # in-cluster runs: the runner pod's node (deploy/runner, downward API)


def target_of(stack: Stack, allow: Allowlist) -> Target:
    """The target the actions act on: the stack's context and namespace, the namespaces the guard
    allows besides, and the runner's own node when it runs in a pod (no fault may hit it)."""
    return Target(stack.kube_context, stack.namespace, tuple(n for n in allow.namespaces if n != stack.namespace),
                  os.environ.get(RUNNER_NODE_ENV, ""))
