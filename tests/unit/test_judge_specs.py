"""An experiment's kube-gameday verdict list, decoded by each check's declared spec: a mistake
names the file, the entry and the field."""

import pytest

from core.checks import FAILOVER_RECOVERED, SLO_CLIENT, FailoverRecovered
from gameday.experiment import ExperimentError, asked_checks


def experiment(verdicts):
    return {"extensions": [{"name": "kube-gameday", "verdicts": verdicts}]}


def test_the_listed_checks_come_back_decoded():
    [failover, slo] = asked_checks(experiment([{"check": "failover_recovered", "deployment": "api"},
                                               {"check": "slo_client"}]), "x.yaml")
    assert failover.check is FAILOVER_RECOVERED and failover.spec == FailoverRecovered("api", 60, None)
    assert slo.check is SLO_CLIENT


def test_the_stack_namespace_is_put_in():
    [alert] = asked_checks(experiment([{"check": "alert_fired", "alert": "A", "after": "x",
                                        "labels": {"namespace": "${namespace}"}}]), "x.yaml", namespace="shop")
    assert alert.spec.labels == {"namespace": "shop"}


@pytest.mark.parametrize("doc, message", [
    ({}, "x.yaml: no extensions entry named 'kube-gameday'"),
    (experiment("slo"), "must be a list"),
    (experiment([{"check": "slo_everything"}]), "verdicts[0] (slo_everything): check: unknown check 'slo_everything'"),
    (experiment([{"check": "slo_client"}, {"check": "pdb_respected"}]), "verdicts[1] (pdb_respected): pdb: required"),
    (experiment([{"check": "pdb_respected", "pdb": "a", "pbd": "b"}]), "verdicts[0] (pdb_respected): pbd: unknown field"),
    (experiment([{"check": "hpa_scaled_out", "hpa": "a", "at_least": 2.5}]), "at_least: a whole number >= 0, not 2.5"),
    (experiment([{"check": "failed_requests", "except": "/api/plan"}]), "except: a list of names, not '/api/plan'"),
    (experiment([{"check": "alert_fired", "alert": "A", "after": "x", "labels": ["a"]}]), "labels: a mapping"),
    (experiment([{"check": "failover_recovered", "deployment": True}]), "deployment: a name, not True"),
])
def test_mistakes_are_named(doc, message):
    with pytest.raises(ExperimentError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        asked_checks(doc, "x.yaml")
