"""What a game day may touch: the kube context, the stack's namespace, the other namespaces the
guard allowed, and (in-cluster) the node the runner itself runs on. Built once by the runner from
the stack and the guard (gameday.guard.target_of), handed to every action and probe through Chaos
Toolkit's `configuration` (the keys below, which each experiment declares, with environment
fallbacks for a plain `chaos run`); an action reads it with `Target.of(configuration)` and never
the environment.
"""

from dataclasses import dataclass

KUBE_SYSTEM = "kube-system"
# the experiment configuration keys that carry a Target
KEYS = ("kube_context", "namespace", "allowed_namespaces", "runner_node")


class TargetError(ValueError):
    """The configuration an activity got does not say what it may touch."""


@dataclass(frozen=True)
class Target:
    context: str
    namespace: str
    allowed_namespaces: tuple[str, ...] = ()   # besides `namespace`
    runner_node: str = ""                      # in-cluster: a node no fault may hit

    @classmethod
    def of(cls, configuration: dict | None) -> "Target":
        """The target an activity was given; TargetError naming what is missing."""
        configuration = configuration or {}
        missing = [k for k in ("kube_context", "namespace") if not configuration.get(k)]
        if missing:
            raise TargetError(f"the experiment's configuration has no {missing[0]!r}: the suite's actions act only "
                              f"on the target it names (configuration keys: {', '.join(KEYS)})")
        allowed = configuration.get("allowed_namespaces") or ()
        if isinstance(allowed, str):
            allowed = allowed.split(",")
        return cls(configuration["kube_context"], configuration["namespace"], tuple(n for n in allowed if n),
                   configuration.get("runner_node") or "")

    def configuration(self) -> dict:
        """The configuration values that carry this target (`chaos run --var-file`)."""
        return {"kube_context": self.context, "namespace": self.namespace,
                "allowed_namespaces": ",".join(self.allowed_namespaces), "runner_node": self.runner_node}

    def refusal(self, ns: str) -> str:
        """Why `ns` may not be touched ('' if it may)."""
        return namespace_refusal(ns, self.namespace, self.allowed_namespaces)

    def check_namespace(self, ns: str) -> None:
        """For the actions: refuses (PermissionError) a namespace this run was not allowed to touch."""
        if why := self.refusal(ns):
            raise PermissionError(why)


def namespace_refusal(ns: str, stack_namespace: str, allowed: tuple[str, ...]) -> str:
    """Why `ns` may not be touched by a game day on `stack_namespace` ('' if it may)."""
    if ns == stack_namespace and ns != KUBE_SYSTEM or ns in allowed:
        return ""
    if ns == KUBE_SYSTEM:
        return (f"namespace {KUBE_SYSTEM!r} is off limits: the cluster's own components run there "
                "(allow it by name, deliberately, to go on)")
    return (f"namespace {ns!r} is not the stack's ({stack_namespace!r}) nor allowed "
            "(guard.yaml: namespaces, or --allow-namespace)")
