"""A game day's predictions (core.predictions), made from its experiment as it will run and the
stack's live objects before any fault, kept in predictions.json; the report sets each beside what
its verdict observed (reports.build)."""

import json
from pathlib import Path

from chaoslib import substitute

from core.predictions import Fault, Prediction, predict
from core.weak_spots import Namespace
from gameday.experiment import asked_checks, configured

PREDICTIONS = "predictions.json"


def faults_of(experiment: dict, handed: dict) -> list[Fault]:
    """The method's python actions with the arguments `chaos run` will give them."""
    values = configured(experiment, handed)
    return [Fault(a["name"], a["provider"].get("func", ""), substitute(a["provider"].get("arguments") or {}, values, {}))
            for a in experiment.get("method") or []
            if a.get("type") == "action" and (a.get("provider") or {}).get("type") == "python"]


def predictions_of(experiment: dict, source: str, handed: dict, ns: Namespace) -> list[Prediction]:
    asked = asked_checks(experiment, source, handed)
    return predict(ns, faults_of(experiment, handed),
                   [a.spec.deployment for a in asked if a.check.name == "failover_recovered"],
                   any(a.check.name == "drain_completed" for a in asked))


def write_predictions(predictions: list[Prediction], run_dir: Path) -> None:
    (run_dir / PREDICTIONS).write_text(json.dumps([p.to_dict() for p in predictions], indent=2))
