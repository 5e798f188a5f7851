"""An experiment is checked whole before any chaos: a probe that does not exist, an argument its
function does not take, a verdict waiting on an action the method lacks, a number given as text:
one error naming the file and the field."""

import copy
from pathlib import Path

import pytest
import yaml

from gameday.experiment import ExperimentError, load_experiment

SEED = yaml.safe_load((Path(__file__).resolve().parents[2] / "experiments/node-failure-failover.yaml").read_text())


def broken(tmp_path, change) -> str:
    experiment = copy.deepcopy(SEED)
    change(experiment)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(experiment))
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    assert str(path) in str(err.value)
    return str(err.value)


def test_a_probe_that_does_not_exist(tmp_path):
    def misspell(e):
        e["method"][1]["provider"]["func"] = "wait_for_alret"
    assert "method[1] (wait-for-node-not-ready-to-fire): provider.func: probes.alerts has no function 'wait_for_alret'" \
        in broken(tmp_path, misspell)


def test_a_module_that_does_not_exist(tmp_path):
    def misname(e):
        e["rollbacks"][0]["provider"]["module"] = "actions.node"
    assert "rollbacks[0] (start-stopped-nodes): provider.module: cannot import 'actions.node'" in broken(tmp_path, misname)


@pytest.mark.parametrize("name", ["", ".actions"])
def test_a_module_name_importlib_cannot_even_look_up(tmp_path, name):
    """An empty or a relative name makes importlib raise ValueError/TypeError, not ImportError (the
    fuzz test found the empty one): still a clean error naming the field."""
    def unnamed(e):
        e["rollbacks"][0]["provider"]["module"] = name
    assert f"rollbacks[0] (start-stopped-nodes): provider.module: cannot import {name!r}" in broken(tmp_path, unnamed)


def test_an_argument_the_function_does_not_take(tmp_path):
    def extra(e):
        e["method"][0]["provider"]["arguments"]["namespace"] = "gameday"
    assert "actions.node_failure.fail_nodes takes no argument 'namespace'" in broken(tmp_path, extra)


def test_a_verdict_after_an_action_the_method_lacks(tmp_path):
    def rename(e):
        e["method"][0]["name"] = "stop-a-worker"
    assert "after: 'stop-the-busiest-worker' is not an action of the method" in broken(tmp_path, rename)


def test_a_number_given_as_text(tmp_path):
    def text(e):
        next(v for v in e["extensions"][0]["verdicts"] if "within_s" in v)["within_s"] = "90s"
    assert "within_s: a number >= 0, not '90s'" in broken(tmp_path, text)


def test_every_experiment_of_the_suite_passes():
    for path in sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml")):
        if "kube-gameday" in path.read_text():
            load_experiment(path)


def test_a_suite_action_with_no_target_in_the_configuration(tmp_path):
    def untargeted(e):
        del e["configuration"]["kube_context"]
    assert "(core-api-available): probes.deployments.deployment_available acts on the target the configuration " \
        "names: configuration: kube_context is required" in broken(tmp_path, untargeted)


def test_a_guardrail_that_cannot_be_watched(tmp_path):
    def garble(e):
        e["extensions"][0]["guardrails"] = ["error_ratio > 20% for 30s", "errors above 20%"]
    assert "extensions[kube-gameday].guardrails[1]: guardrail 'errors above 20%'" in broken(tmp_path, garble)


def test_a_readiness_guardrail_on_a_deployment_the_stack_does_not_name():
    from gameday.experiment import guardrails_of
    experiment = copy.deepcopy(SEED)
    experiment["extensions"][0]["guardrails"] = ["ready(core_api) < 1", "ready(coreapi) < 1"]
    with pytest.raises(ExperimentError, match=r"guardrails\[0\]: guardrail 'ready\(core_api\) < 1': not of the form"):
        guardrails_of(experiment, "x.yaml", ("core-api",))
    experiment["extensions"][0]["guardrails"] = ["ready(coreapi) < 1"]
    with pytest.raises(ExperimentError, match=r"x.yaml: .*guardrails\[0\]: 'ready\(coreapi\) < 1': the stack names no "
                                              r"Deployment 'coreapi' \(it names core-api\)"):
        guardrails_of(experiment, "x.yaml", ("core-api",))


def test_a_placeholder_the_configuration_does_not_declare(tmp_path):
    """`chaos run` would hand the action the text "${entry_selectr}" itself."""
    def misspell(e):
        e["method"][0]["provider"]["arguments"]["pods_label_selector"] = "${entry_selectr}"
    assert "${entry_selectr} is used but configuration declares no 'entry_selectr'" in broken(tmp_path, misspell)
