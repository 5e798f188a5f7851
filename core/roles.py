"""The stack's objects by the role a game day gives them, so that one experiment runs on any
stack: it names `${entry_deployment}`, not `core-api`. The stack file says which object plays
each role (roles: {entry: core-api, ...}); the values an experiment's configuration gets are read
here from the live objects (the Namespace core.weak_spots reads), never guessed.

    entry     a Deployment, the one behind urls.entry: what pod kills, drains and rollouts hit
              entry_deployment, entry_selector (its pods: label=value terms)
    scaled    a HorizontalPodAutoscaler: what a scale-out game day drives
              scaled_hpa, scaled_deployment, scaled_selector (its target's pods), scaled_min,
              scaled_max, scaled_out_to (the replicas it must reach: two over its minimum, capped
              at its maximum, at least one)
    budgeted  a PodDisruptionBudget: what a drain must respect
              budgeted_pdb, budgeted_selector

Alerts play roles too: the stack file names, per class of event, the alert rules that should fire
on it (alerts: {scaling: [...]}); an experiment gets each class as a list, `${scaling_alerts}`,
and asks a verdict of each name. A class the stack leaves out is an empty list: no verdict is
asked of an alert the stack does not have (the seed's names are only the plain `chaos run` default).

    scaling    the scaled HPA changed its replicas             scaling_alerts
"""

from core.weak_spots import Namespace

ROLES = {"entry": "Deployment", "scaled": "HorizontalPodAutoscaler", "budgeted": "PodDisruptionBudget"}
ROLE_KEYS = {"entry": ("entry_deployment", "entry_selector"),
             "scaled": ("scaled_hpa", "scaled_deployment", "scaled_selector", "scaled_min", "scaled_max", "scaled_out_to"),
             "budgeted": ("budgeted_pdb", "budgeted_selector")}
ALERT_ROLES = {"scaling": "the scaled HPA changed its replicas"}
SCALE_OUT_STEP = 2  # a scale-out game day expects the HPA this far above its minimum (capped at its maximum)


class RoleError(ValueError):
    """A role names an object that is not there, or one a game day cannot act on."""


def selector_terms(selector: dict | None, where: str) -> str:
    """matchLabels as the label=value terms the suite's actions take; matchExpressions cannot be."""
    if not selector or selector.get("matchExpressions") or not selector.get("matchLabels"):
        raise RoleError(f"{where}: its selector {selector!r} is not plain matchLabels (the suite's actions "
                        "select pods by label=value terms)")
    return ",".join(f"{k}={v}" for k, v in sorted(selector["matchLabels"].items()))


def terms_of(selector: str) -> dict[str, str]:
    """label=value terms (app=web,tier=front) as matchLabels: the inverse of selector_terms."""
    return dict(term.split("=", 1) for term in selector.split(",") if "=" in term)


def _named(objects: list[dict], kind: str, name: str, role: str) -> dict:
    for obj in objects:
        if obj.get("kind", kind) == kind and obj["metadata"]["name"] == name:
            return obj
    raise RoleError(f"roles.{role}: no {kind} {name!r} in the namespace")


def scale_out_to(minimum: int, maximum: int) -> int:
    """Two over the minimum, capped at the maximum; one over the minimum at least, even past a
    maximum that allows none: an HPA that cannot scale then fails its game day, never passes it."""
    return max(min(maximum, minimum + SCALE_OUT_STEP), minimum + 1)


def role_values(roles: dict[str, str], ns: Namespace) -> dict:
    """The configuration values of the roles the stack names."""
    values: dict = {}
    if "entry" in roles:
        deployment = _named(ns.workloads, "Deployment", roles["entry"], "entry")
        values |= {"entry_deployment": roles["entry"],
                   "entry_selector": selector_terms(deployment["spec"].get("selector"),
                                                    f"roles.entry: Deployment {roles['entry']}")}
    if "scaled" in roles:
        hpa = _named(ns.hpas, "HorizontalPodAutoscaler", roles["scaled"], "scaled")
        low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        target = hpa["spec"]["scaleTargetRef"]["name"]
        scaled = _named(ns.workloads, "Deployment", target, f"scaled (HorizontalPodAutoscaler {roles['scaled']}'s target)")
        values |= {"scaled_hpa": roles["scaled"], "scaled_deployment": target,
                   "scaled_selector": selector_terms(scaled["spec"].get("selector"), f"roles.scaled: Deployment {target}"),
                   "scaled_min": low, "scaled_max": high, "scaled_out_to": scale_out_to(low, high)}
    if "budgeted" in roles:
        pdb = _named(ns.pdbs, "PodDisruptionBudget", roles["budgeted"], "budgeted")
        values |= {"budgeted_pdb": roles["budgeted"],
                   "budgeted_selector": selector_terms(pdb["spec"].get("selector"),
                                                       f"roles.budgeted: PodDisruptionBudget {roles['budgeted']}")}
    return values


def alert_values(alerts: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Each alert class as the list its experiments get, empty where the stack names none."""
    return {f"{role}_alerts": list(alerts.get(role, ())) for role in ALERT_ROLES}


def role_of_key(key: str) -> str | None:
    """The role a configuration key belongs to (entry_selector -> entry), None if it is no role's."""
    return next((role for role, keys in ROLE_KEYS.items() if key in keys), None)
