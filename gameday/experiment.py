"""An experiment file, checked before anything touches a cluster: the Chaos Toolkit shape the
suite relies on (activities with a type, a name and a provider), every python provider's module
and function present and called with arguments it takes, and the kube-gameday verdicts decoded
strictly by their checks' specs (core.checks), a field naming an action naming one of the method,
and its guardrails (core.guardrails) parsed.
A mistake is one ExperimentError naming the file and the field.
"""

import dataclasses
import importlib
import inspect
import json
import re
from pathlib import Path

from chaoslib import substitute  # ${...} resolved as `chaos run` will

from core.checks import Asked, asked
from core.roles import role_of_key
from core.guardrails import READINESS, Guardrail, GuardrailError, parse_guardrails
from core.specs import SpecError, key_of
from edge.files import read_yaml

EXTENSION = "kube-gameday"
SUITE_PACKAGES = ("actions", "probes")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
TARGET_KEYS = ("kube_context", "namespace")  # core.target: what an action of the suite needs to act at all


class ExperimentError(ValueError):
    """The experiment is malformed, or its kube-gameday extension asks for something unknown."""


def extension(experiment: dict, source: str, required: bool = True) -> dict:
    """The experiment's kube-gameday extension: its verdicts and guardrails ({} if not required)."""
    extensions = experiment.get("extensions") or []
    if not isinstance(extensions, list):
        raise ExperimentError(f"{source}: extensions: a list of {{name: ...}} mappings, not {extensions!r}")
    for ext in extensions:
        if isinstance(ext, dict) and ext.get("name") == EXTENSION:
            return ext
    if not required:
        return {}
    raise ExperimentError(f"{source}: no extensions entry named {EXTENSION!r} listing its verdicts")


def verdict_entries(experiment: dict, source: str) -> list:
    """The raw entries of the experiment's kube-gameday verdict list."""
    entries = extension(experiment, source).get("verdicts")
    if not isinstance(entries, list) or not entries:
        raise ExperimentError(f"{source}: extensions[{EXTENSION}].verdicts must be a list of "
                              "{check: NAME, ...} mappings")
    return entries


def configured(experiment: dict, handed: dict | None = None) -> dict:
    """The experiment's configuration values: those fixed in the file (the seed stack's, for a
    plain `chaos run`), overridden by what the runner hands it (target.json: the target, the
    stack's objects by role). Those read from the environment are known only to `chaos run`."""
    handed, values = handed or {}, {}
    for key, value in (experiment.get("configuration") or {}).items():  # chaoslib takes only keys declared
        if key in handed:
            values[key] = handed[key]
        elif not (isinstance(value, dict) and "type" in value):
            values[key] = value
    return values


def placeholders(experiment: dict) -> set[str]:
    """The configuration keys the experiment's ${...} name, anywhere in it."""
    return set(PLACEHOLDER.findall(json.dumps(experiment, default=str)))


def roles_used(experiment: dict) -> dict[str, list[str]]:
    """The stack roles the experiment acts on (core.roles), each with the keys naming it."""
    used: dict[str, list[str]] = {}
    for key in sorted(placeholders(experiment)):
        if role := role_of_key(key):
            used.setdefault(role, []).append(key)
    return used


def guardrails_of(experiment: dict, source: str, deployments: tuple[str, ...] | None = None,
                  handed: dict | None = None) -> list[Guardrail]:
    """The guardrails the experiment declares (none: an empty list), ${...} resolved as `chaos
    run` resolves them (configured); with the stack's `deployments`, a ready() guardrail must name
    one of them (the sampler watches no other)."""
    where = f"{source}: extensions[{EXTENSION}].guardrails"
    declared = extension(experiment, source, required=False).get("guardrails") or []
    try:
        guardrails = parse_guardrails(substitute(declared, configured(experiment, handed), {}), where)
    except GuardrailError as err:
        raise ExperimentError(str(err)) from None
    for i, guardrail in enumerate(guardrails):
        if deployments is not None and guardrail.source == READINESS and guardrail.deployment not in deployments:
            raise ExperimentError(f"{where}[{i}]: {guardrail.expr!r}: the stack names no Deployment "
                                  f"{guardrail.deployment!r} (it names {', '.join(deployments) or 'none'})")
    return guardrails


def asked_checks(experiment: dict, source: str, handed: dict | None = None) -> list[Asked]:
    """The checks the experiment asks for, decoded, ${...} resolved as `chaos run` resolves them
    (configured). A field that is one placeholder naming a list (pdb: "${pdbs}") asks for the
    check once for each of its items."""
    checks, values = [], configured(experiment, handed)
    for i, entry in enumerate(verdict_entries(experiment, source)):
        check = entry.get("check") if isinstance(entry, dict) else None
        where = f"{source}: extensions[{EXTENSION}].verdicts[{i}]" + (f" ({check})" if isinstance(check, str) else "")
        try:
            checks += [asked(one) for one in _each(entry, values)]
        except SpecError as err:
            raise ExperimentError(f"{where}: {err}") from err
    return checks


def _each(entry, values: dict) -> list:
    """The entry resolved, once per item of a field that is one placeholder naming a list."""
    if not isinstance(entry, dict):
        return [entry]
    lists = [k for k, v in entry.items() if isinstance(v, str) and PLACEHOLDER.fullmatch(v)
             and isinstance(values.get(PLACEHOLDER.fullmatch(v)[1]), list)]
    if len(lists) > 1:
        raise SpecError(f"{', '.join(lists)}: only one field may name a list of objects")
    resolved = substitute(entry, values, {})
    return [{**resolved, lists[0]: item} for item in resolved[lists[0]]] if lists else [resolved]


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
    configuration = experiment.get("configuration") or {}
    if not isinstance(configuration, dict):
        raise ExperimentError(f"{source}: configuration: a mapping of names to values, not {configuration!r}")
    undeclared = sorted(placeholders(experiment) - set(configuration))
    if undeclared:  # `chaos run` would leave it as written: an action aimed at the literal text
        raise ExperimentError(f"{source}: ${{{undeclared[0]}}} is used but configuration declares no "
                              f"{undeclared[0]!r} (declared: {', '.join(configuration) or 'none'})")
    for part, activities in sections.items():
        if not isinstance(activities, list):
            raise ExperimentError(f"{source}: {part}: a list of activities, not {activities!r}")
        for i, activity in enumerate(activities):
            check_activity(activity, f"{source}: {part}[{i}]", configuration)
    actions = {a.get("name") for a in sections["method"] if isinstance(a, dict) and a.get("type") == "action"}
    for i, check in enumerate(asked_checks(experiment, source)):
        check_actions_named(check, actions, f"{source}: extensions[{EXTENSION}].verdicts[{i}] ({check.check.name})")
    guardrails_of(experiment, source)


def check_activity(activity, where: str, configuration: dict) -> None:
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
        check_python_provider(provider, where, configuration)


def check_python_provider(provider: dict, where: str, configuration: dict) -> None:
    module_name, func_name = provider.get("module"), provider.get("func")
    if not isinstance(module_name, str) or not isinstance(func_name, str):
        raise ExperimentError(f"{where}: provider: module and func are required, as strings")
    try:
        module = importlib.import_module(module_name)
    except (ImportError, ValueError, TypeError) as err:  # also an empty or a relative ('.x') name
        raise ExperimentError(f"{where}: provider.module: cannot import {module_name!r} ({err})") from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ExperimentError(f"{where}: provider.func: {module_name} has no function {func_name!r}")
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise ExperimentError(f"{where}: provider.arguments: a mapping of argument names, not {arguments!r}")
    parameters = inspect.signature(func).parameters
    if "configuration" in parameters and module_name.split(".")[0] in SUITE_PACKAGES:
        missing = [k for k in TARGET_KEYS if k not in configuration]
        if missing:
            raise ExperimentError(f"{where}: {module_name}.{func_name} acts on the target the configuration names: "
                                  f"configuration: {missing[0]} is required (declare {', '.join(TARGET_KEYS)}; "
                                  "`gameday run` gives their values)")
    if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(arguments) - set(parameters))
        if unknown:
            raise ExperimentError(f"{where}: provider.arguments: {module_name}.{func_name} takes no argument "
                                  f"{unknown[0]!r} (it takes {', '.join(parameters) or 'none'})")
    # an activity of the suite may check its arguments' contents before anything runs: as written,
    # or from the configuration's fixed values (those from the environment only at run time)
    check_arguments = getattr(func, "check_arguments", None)
    if check_arguments is None:
        return
    fixed = {k: v for k, v in configuration.items() if not (isinstance(v, dict) and "type" in v)}
    given = substitute(arguments, fixed, {})
    if "${" not in json.dumps(given, default=str):
        try:
            check_arguments(given)
        except ValueError as err:
            raise ExperimentError(f"{where}: provider.arguments.{err}") from None


def check_actions_named(check: Asked, actions: set, where: str) -> None:
    """A field that names an action (after, resolved_after) names one of the method."""
    for field in dataclasses.fields(check.spec):
        value = getattr(check.spec, field.name)
        if field.metadata.get("action") and value is not None and value not in actions:
            raise ExperimentError(f"{where}: {key_of(field)}: {value!r} is not an action of the method "
                                  f"(actions: {', '.join(sorted(a for a in actions if a)) or 'none'})")
