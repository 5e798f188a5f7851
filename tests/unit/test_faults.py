"""core.faults, the one declaration of which action undoes which, holds against the actions and
the experiments: each fault and its undo exist, take the target from their configuration, and
every experiment that applies a fault rolls it back with its undo."""

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from core.faults import FAULTS, UNDOS
from core.target import Target, TargetError

EXPERIMENTS = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("name", [*FAULTS, *UNDOS])
def test_each_fault_and_undo_is_a_function_of_its_module_taking_the_target(name):
    fault = FAULTS.get(name) or UNDOS[name]
    func = getattr(importlib.import_module(fault.module), name)
    assert "configuration" in inspect.signature(func).parameters
    if name in FAULTS:
        assert hasattr(func, "plan"), f"{name} has no dry run (@planned)"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_fault_an_experiment_applies_is_rolled_back_by_its_undo(path):
    experiment = yaml.safe_load(path.read_text())
    funcs = lambda part: {(a.get("provider") or {}).get("func") for a in experiment.get(part) or []}  # noqa: E731
    missing = {FAULTS[f].undo for f in funcs("method") & set(FAULTS)} - funcs("rollbacks")
    assert not missing, f"{path.name}: rollbacks lack {missing}"


def test_an_activity_without_a_target_is_refused_by_name():
    with pytest.raises(TargetError, match="configuration has no 'kube_context'"):
        Target.of({"namespace": "gameday"})
    target = Target.of({"kube_context": "kind-x", "namespace": "shop", "allowed_namespaces": "a,,b"})
    assert target.allowed_namespaces == ("a", "b") and Target.of(target.configuration()) == target
    assert target.refusal("a") == "" and "not the stack's" in target.refusal("payments")
