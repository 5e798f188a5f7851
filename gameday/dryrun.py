"""`gameday run --dry-run`: what a game day would do, resolved against the live cluster with
reads only: which pods a kill would pick from, which node a drain or a stop would hit (and the
pods on it, the budgets guarding them), which Deployment a change would touch and how, what the
rollbacks would find to undo now. Nothing is written to the cluster and no load is sent.

A suite action describes itself (its @planned plan, calling the same select_* the action uses,
with the arguments it would get, its own defaults filled in); an undo says what core.faults
declares it does; any other activity is shown as the call it would make.
"""

import importlib

from chaoslib import substitute  # resolves ${...} exactly as `chaos run` will

from actions.leftovers import leftovers
from core.faults import UNDOS
from core.plans import arguments_of
from core.target import Target
from edge.stack import Stack
from gameday.controls import NO_LOAD


def configuration(experiment: dict, env: dict[str, str], handed: dict) -> dict:
    """The experiment's configuration as `chaos run` would resolve it in this environment, with
    what the runner hands it (--var-file: the target, the stack's objects by role)."""
    resolved = {}
    for key, value in (experiment.get("configuration") or {}).items():
        if isinstance(value, dict) and value.get("type") == "env":
            resolved[key] = env.get(value["key"], value.get("default"))
        else:
            resolved[key] = value
    return {**resolved, **{k: handed[k] for k in resolved if k in handed}}


def _function(provider: dict):
    try:
        return getattr(importlib.import_module(provider.get("module", "")), provider.get("func", ""), None)
    except ImportError:
        return None


def describe(activity: dict, config: dict, target: Target) -> list[str]:
    provider = activity.get("provider") or {}
    arguments = substitute(provider.get("arguments") or {}, config, {})
    func = provider.get("func", "")
    action = _function(provider) if provider.get("type") == "python" else None
    if action is not None and hasattr(action, "plan"):
        try:
            return action.plan(arguments_of(action, arguments), target)
        except PermissionError as err:
            return [f"REFUSED: {err}"]
        except (RuntimeError, ValueError) as err:  # nothing to select: the run would fail there
            return [f"WOULD FAIL: {err}"]
    if func in UNDOS:
        left = leftovers(target)
        return [f"{UNDOS[func].undoing} (left by an earlier run, now: {'; '.join(left) if left else 'nothing'})"]
    if provider.get("type") == "python":
        return [f"call {provider.get('module')}.{func}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"]
    return [f"{provider.get('type', '?')}: {provider.get('path') or provider.get('url') or provider}"]


OWN_PROFILE = "the experiment's own"


def plan(experiment: dict, source: str, stack: Stack, target: Target, handed: dict, env: dict[str, str],
         profile: str) -> list[str]:
    """The lines of a dry run, in the order the game day would act."""
    config = configuration(experiment, env, handed)
    own = next(((c.get("provider") or {}).get("arguments", {}).get("profile", "steady")
                for c in experiment.get("controls") or [] if (c.get("provider") or {}).get("module") == "gameday.controls"),
               None)
    load = ("load: none" if own in (None, NO_LOAD) and profile == OWN_PROFILE else
            f"load: {own if profile == OWN_PROFILE else profile} at {stack.entry_url}")
    lines = [f"dry run of {source}: {experiment.get('title', '')}",
             f"target: context {target.context}, namespace {target.namespace}"
             + (f" (also allowed: {', '.join(target.allowed_namespaces)})" if target.allowed_namespaces else "")
             + f" (stack {stack.source})",
             load]
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    for part, activities in (("steady state (before and after)", hypothesis.get("probes") or []),
                             ("method", experiment.get("method") or []), ("rollbacks", experiment.get("rollbacks") or [])):
        lines.append(f"{part}:" if activities else f"{part}: none")
        for activity in activities:
            pauses = activity.get("pauses") or {}
            wait = "".join(f", then wait {v} s" if k == "after" else f" (after waiting {v} s)" for k, v in pauses.items())
            lines.append(f"  {activity.get('type', '?')} {activity.get('name', '?')}{wait}:")
            lines += [f"    {line}" for line in describe(activity, config, target)]
    return lines
