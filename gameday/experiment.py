"""An experiment file, checked before anything touches a cluster: the Chaos Toolkit shape the
suite relies on (activities with a type, a name and a provider), every python provider's module
and function present and called with arguments it takes, and the kube-gameday verdicts with
fields of the right kind and `after` naming an action of the method. A mistake is one
ExperimentError naming the file and the field.
"""

import importlib
import inspect
from pathlib import Path

from edge.files import read_yaml
from gameday.judge import ExperimentError, verdict_specs

PARTS = ("method", "rollbacks")
NUMBER_FIELDS = ("within_s", "at_least", "max_s", "max", "detection_s", "max_gap", "target_rps")
NAME_FIELDS = ("deployment", "pdb", "hpa", "alert", "after", "resolved_after")


def load_experiment(path: str | Path) -> dict:
    path = Path(path)
    experiment = read_yaml(path, ExperimentError)
    validate(experiment, str(path))
    return experiment


def validate(experiment, source: str) -> None:
    if not isinstance(experiment, dict):
        raise ExperimentError(f"{source}: an experiment is a mapping (title, method, ...), not {type(experiment).__name__}")
    if not isinstance(experiment.get("title"), str):
        raise ExperimentError(f"{source}: title: a string is required")
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    if not isinstance(hypothesis, dict):
        raise ExperimentError(f"{source}: steady-state-hypothesis: a mapping (title, probes), not {hypothesis!r}")
    sections = {"steady-state-hypothesis.probes": hypothesis.get("probes") or [], "method": experiment.get("method"),
                "rollbacks": experiment.get("rollbacks") or []}
    if not isinstance(sections["method"], list) or not sections["method"]:
        raise ExperimentError(f"{source}: method: a list of at least one activity is required")
    for part, activities in sections.items():
        if not isinstance(activities, list):
            raise ExperimentError(f"{source}: {part}: a list of activities, not {activities!r}")
        for i, activity in enumerate(activities):
            check_activity(activity, f"{source}: {part}[{i}]")
    actions = {a.get("name") for a in sections["method"] if isinstance(a, dict) and a.get("type") == "action"}
    for i, spec in enumerate(verdict_specs(experiment, source)):
        check_spec(spec, actions, f"{source}: extensions[kube-gameday].verdicts[{i}] ({spec['check']})")


def check_activity(activity, where: str) -> None:
    if not isinstance(activity, dict):
        raise ExperimentError(f"{where}: an activity is a mapping (type, name, provider), not {activity!r}")
    if activity.get("type") not in ("action", "probe"):
        raise ExperimentError(f"{where}: type: 'action' or 'probe', not {activity.get('type')!r}")
    if not isinstance(activity.get("name"), str) or not activity["name"]:
        raise ExperimentError(f"{where}: name: a non-empty string is required")
    where = f"{where} ({activity['name']})"
    provider = activity.get("provider")
    if not isinstance(provider, dict) or provider.get("type") not in ("python", "process", "http"):
        raise ExperimentError(f"{where}: provider: a mapping with type python, process or http")
    if provider["type"] == "python":
        check_python_provider(provider, where)


def check_python_provider(provider: dict, where: str) -> None:
    module_name, func_name = provider.get("module"), provider.get("func")
    if not isinstance(module_name, str) or not isinstance(func_name, str):
        raise ExperimentError(f"{where}: provider: module and func are required, as strings")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ExperimentError(f"{where}: provider.module: cannot import {module_name!r} ({err})") from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ExperimentError(f"{where}: provider.func: {module_name} has no function {func_name!r}")
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise ExperimentError(f"{where}: provider.arguments: a mapping of argument names, not {arguments!r}")
    parameters = inspect.signature(func).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(arguments) - set(parameters))
        if unknown:
            raise ExperimentError(f"{where}: provider.arguments: {module_name}.{func_name} takes no argument "
                                  f"{unknown[0]!r} (it takes {', '.join(parameters) or 'none'})")


def check_spec(spec: dict, actions: set, where: str) -> None:
    for key in NUMBER_FIELDS:
        if key in spec and (not isinstance(spec[key], (int, float)) or isinstance(spec[key], bool) or spec[key] < 0):
            raise ExperimentError(f"{where}: {key}: a number >= 0, not {spec[key]!r}")
    for key in NAME_FIELDS:
        if key in spec and (not isinstance(spec[key], str) or not spec[key]):
            raise ExperimentError(f"{where}: {key}: a name, not {spec[key]!r}")
    for key in ("after", "resolved_after"):
        if key in spec and spec[key] not in actions:
            raise ExperimentError(f"{where}: {key}: {spec[key]!r} is not an action of the method "
                                  f"(actions: {', '.join(sorted(a for a in actions if a)) or 'none'})")
    if "labels" in spec and not isinstance(spec["labels"], dict):
        raise ExperimentError(f"{where}: labels: a mapping of label names to values, not {spec['labels']!r}")
    if "except" in spec and not (isinstance(spec["except"], list) and all(isinstance(e, str) for e in spec["except"])):
        raise ExperimentError(f"{where}: except: a list of endpoint names, not {spec['except']!r}")
