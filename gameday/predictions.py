"""A game day's predictions (core.predictions), made from its experiment as it will run and the
stack's live objects before any fault, kept in predictions.json; the report sets each beside what
its verdict observed (reports.build). A scale-out's peak is predicted from the capacity model of
the stack's latest step-load run in the runs folder, and the load profile the run will drive."""

import json
from pathlib import Path

from chaoslib import substitute
from kubernetes.client.exceptions import ApiException

from core.checks import AlertFired
from core.predictions import Fault, Prediction, Surge, alert_fires_by, predict
from core.weak_spots import Namespace
from edge.home import find_profile, runs_root
from edge.kube import read_namespace
from edge.prometheus import Prometheus, PrometheusError
from edge.rundir import runs_with_a_capacity_model
from edge.stack import Stack
from gameday.experiment import asked_checks, configured
from loadtests.profile import ProfileError, load_profile
from probes.alerts import RuleNotLoaded, rule_timing

PREDICTIONS = "predictions.json"


def faults_of(experiment: dict, handed: dict) -> list[Fault]:
    """The method's python actions with the arguments `chaos run` will give them."""
    values = configured(experiment, handed)
    return [Fault(a["name"], a["provider"].get("func", ""), substitute(a["provider"].get("arguments") or {}, values, {}))
            for a in experiment.get("method") or []
            if a.get("type") == "action" and (a.get("provider") or {}).get("type") == "python"]


def capacity_model(stack: Stack, runs: Path) -> tuple[dict | None, str]:
    """(the capacity_for_target details of the stack's latest run that has them, where it came
    from), or (None, why there is none)."""
    for run in runs_with_a_capacity_model(runs):
        if run.target == (stack.name, stack.namespace):
            return run.capacity_model, f"the capacity model of {run.path.name}"
    return None, (f"no step-load run of stack {stack.name!r} in {runs} holds a capacity model; "
                  "`gameday run capacity-step-load` makes one")


def load_only_capacity(stack: Stack, faults: list[Fault]) -> tuple[dict | None, str]:
    """The capacity model, where the load is the only fault: it knows what requests cost, not
    what a stress or a lost node adds."""
    if faults:
        return None, (f"the method also acts ({', '.join(f.func for f in faults)}): the capacity model "
                      "predicts what load alone does")
    return capacity_model(stack, runs_root())


def surge_of(experiment: dict, override: Path | None) -> Surge | None:
    """The peak of the load the run will drive: the --load profile (override), else the control's own."""
    names = [c["provider"]["arguments"]["profile"] for c in experiment.get("controls") or []
             if (c.get("provider") or {}).get("module") == "gameday.controls"
             and "profile" in (c["provider"].get("arguments") or {})]
    try:
        profile = load_profile(override or find_profile(names[0])) if override or names else None
    except (ProfileError, FileNotFoundError, ValueError):
        return None   # the control reports its own profile error when the run starts
    return Surge(*profile.peak) if profile else None


def predictions_of(experiment: dict, source: str, handed: dict, ns: Namespace, stack: Stack,
                   load_profile: Path | None = None) -> list[Prediction]:
    asked = asked_checks(experiment, source, handed)
    scaled = [a.spec.hpa for a in asked if a.check.name == "hpa_scaled_out"]
    faults = faults_of(experiment, handed)
    drains = any(f.func == "drain_node" for f in faults)
    return predict(ns, faults,
                   [a.spec.deployment for a in asked if a.check.name == "failover_recovered"],
                   any(a.check.name == "drain_completed" for a in asked),
                   scaled, load_only_capacity(stack, faults) if scaled else (None, ""),
                   surge_of(experiment, load_profile), neighbours(ns, handed) if drains else None) + \
        [alerts_fire_by(stack.prometheus_url, a.spec) for a in asked if a.check.name == "alert_fired"]


def neighbours(ns: Namespace, handed: dict) -> Namespace:
    """The stack's namespace and every other the game day may touch (where a drain also evicts);
    one this identity may not read is left out (the prediction then sees less, the run goes on)."""
    others = []
    for name in filter(None, (handed.get("allowed_namespaces") or "").split(",")):
        try:
            others.append(read_namespace(handed["kube_context"], name))
        except ApiException:
            continue
    return Namespace(*(sum((getattr(n, f) for n in [ns, *others]), []) for f in ("workloads", "pods", "pdbs", "hpas")))


def alerts_fire_by(prometheus_url: str, spec: AlertFired) -> Prediction:
    """When an expected alert should fire, from its rule as Prometheus has it loaded now."""
    try:
        return alert_fires_by(spec.alert, spec.after, spec.detection_s, rule_timing(Prometheus(prometheus_url), spec.alert))
    except RuleNotLoaded as err:
        return alert_fires_by(spec.alert, spec.after, spec.detection_s, None, str(err), loaded=False)
    except PrometheusError as err:
        return alert_fires_by(spec.alert, spec.after, spec.detection_s, None, f"its rule could not be read: {err}")


def write_predictions(predictions: list[Prediction], run_dir: Path) -> None:
    (run_dir / PREDICTIONS).write_text(json.dumps([p.to_dict() for p in predictions], indent=2))
