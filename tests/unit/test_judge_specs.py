"""An experiment's kube-gameday verdict list: a mistake names the file and the entry."""

import pytest

from gameday.judge import ExperimentError, verdict_specs


def experiment(verdicts):
    return {"extensions": [{"name": "kube-gameday", "verdicts": verdicts}]}


def test_the_listed_checks_come_back():
    specs = [{"check": "failover_recovered", "deployment": "api"}, {"check": "slo_client"}]
    assert verdict_specs(experiment(specs), "x.yaml") == specs


@pytest.mark.parametrize("doc, message", [
    ({}, "x.yaml: no extensions entry named 'kube-gameday'"),
    (experiment("slo"), "must be a list"),
    (experiment([{"check": "slo_everything"}]), "verdicts[0]: unknown check 'slo_everything'"),
    (experiment([{"check": "slo_client"}, {"check": "pdb_respected"}]), "verdicts[1]: pdb_respected needs the field 'pdb'"),
])
def test_mistakes_are_named(doc, message):
    with pytest.raises(ExperimentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        verdict_specs(doc, "x.yaml")
