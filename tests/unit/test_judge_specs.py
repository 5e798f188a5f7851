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


def configured(verdicts, **configuration):
    return {**experiment(verdicts), "configuration": configuration}


def test_what_the_runner_hands_is_put_in_as_chaos_run_puts_it():
    doc = configured([{"check": "alert_fired", "alert": "A", "after": "x", "labels": {"namespace": "${namespace}"}},
                      {"check": "hpa_scaled_out", "hpa": "${scaled_hpa}", "at_least": "${scaled_out_to}"}],
                     namespace={"type": "env", "key": "GAMEDAY_NAMESPACE"}, scaled_hpa="core-api", scaled_out_to=5)
    [alert, hpa] = asked_checks(doc, "x.yaml", {"namespace": "shop", "scaled_hpa": "web", "scaled_out_to": 4,
                                                "undeclared": "ignored"})
    assert alert.spec.labels == {"namespace": "shop"}
    assert (hpa.spec.hpa, hpa.spec.at_least) == ("web", 4)  # a whole placeholder keeps the value's type
    [_, seed_default] = asked_checks(doc, "x.yaml")              # a plain `chaos run`: the file's own values
    assert (seed_default.spec.hpa, seed_default.spec.at_least) == ("core-api", 5)


def test_a_placeholder_naming_a_list_asks_once_for_each_item():
    doc = configured([{"check": "pdb_respected", "pdb": "${pdbs}"}], pdbs=["core-api"])
    asked = asked_checks(doc, "x.yaml", {"pdbs": ["web", "worker", "db"]})
    assert [a.spec.pdb for a in asked] == ["web", "worker", "db"]
    assert asked_checks(doc, "x.yaml", {"pdbs": []}) == []


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
