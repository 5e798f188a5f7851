"""`gameday init NAMESPACE`: a stack file written from the namespace's live objects (core.discovery's
guesses), each guess said with its reason, and what only the user can know (the SLOs, the URL the
entry is reached at from here) marked for them to confirm. Prometheus is asked what it holds of
the namespace: the request metrics the server-side SLOs need, the alert rules that name it."""

from pathlib import Path

import yaml

from core.discovery import Guess, guess_stack
from edge.kube import read_entry_points, read_namespace
from edge.prometheus import Prometheus, PrometheusError
from probes.alerts import metric_names
from probes.slo import REQUESTS

FIELD_ORDER = ("name", "kube_context", "namespace", "urls", "roles", "alerts", "deployments", "hpas", "pdbs",
               "services", "load", "slo")
HPA_METRICS = ("kube_horizontalpodautoscaler_", "kube_hpa_")  # kube-state-metrics' names, new and old


def init_stack(namespace: str, context: str, prometheus_url: str) -> Guess:
    services, ingresses = read_entry_points(context, namespace)
    guess = guess_stack(context, namespace, read_namespace(context, namespace), services, ingresses, prometheus_url)
    try:
        _ask_prometheus(Prometheus(prometheus_url), namespace, guess)
    except PrometheusError as err:
        guess.confirm.append(f"urls.prometheus: {err}: whether it holds the namespace's request metrics and "
                             "alert rules was not checked")
    return guess


def _ask_prometheus(prom: Prometheus, namespace: str, guess: Guess) -> None:
    selector = guess.values["slo"]["server_selector"]
    if prom.scalar(f"count({REQUESTS}{{{selector}}})"):
        guess.reasons.append(f"slo.server_selector: Prometheus has {REQUESTS}{{{selector}}}")
    else:
        guess.confirm.append(f"slo.server_selector: Prometheus has no {REQUESTS}{{{selector}}}: the server-side "
                             "SLO verdicts and the steady state's error ratio will be inconclusive (a game day "
                             "then stops before its faults) until the stack's requests are counted")
    rules = [rule for group in prom.api("rules", type="alert")["groups"] for rule in group["rules"]]
    named = sorted({rule["name"] for rule in rules if f'namespace="{namespace}"' in rule.get("query", "")
                    or any(d in rule.get("query", "") for d in guess.values["deployments"])})
    guess.reasons.append("alerts naming the namespace or its Deployments: " + (", ".join(named) or "none")
                         + " (an experiment's alert_fired verdicts can expect these)")
    scaling = sorted({rule["name"] for rule in rules if _watches_hpas(rule.get("query", ""), namespace)})
    if scaling:
        guess.values["alerts"] = {"scaling": scaling}
        guess.reasons.append(f"alerts.scaling: {', '.join(scaling)} select HPA metrics of this namespace or of "
                             "every namespace (a scale-out game day judges each can fire)")
    else:
        guess.reasons.append("alerts.scaling: no alert rule selects HPA metrics here: no scaling alert is judged")


def _watches_hpas(query: str, namespace: str) -> bool:
    """The rule selects kube-state-metrics' HPA metrics, of this namespace or of all of them."""
    return (any(m.startswith(HPA_METRICS) for m in metric_names(query))
            and ("namespace=" not in query or f'namespace="{namespace}"' in query))


def stack_text(guess: Guess) -> str:
    """The stack file: a header with every reason and what to confirm, then the fields."""
    lines = [f"# Written by `gameday init {guess.values['namespace']}` from the namespace's live objects.",
             "# Guessed (and why):"] + [f"#   {r}" for r in guess.reasons]
    lines += ["# CONFIRM before a game day:"] + [f"#   {c}" for c in guess.confirm]
    body = {key: guess.values[key] for key in FIELD_ORDER if key in guess.values}
    return "\n".join(lines) + "\n" + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=100)


def write_stack(guess: Guess, path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists: keep it, or pass --force to write over it")
    path.write_text(stack_text(guess))
