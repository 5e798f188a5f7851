"""The dry run's protocol: an action (actions/) or a probe (probes/) that touches the cluster
declares, with @planned, a plan: a function of the arguments it would get (its own defaults
filled in, arguments_of) and the target, that calls the same select the activity uses, with
reads only, and says in lines what the activity would touch. gameday.dryrun prints them."""

import inspect
from collections.abc import Callable

from core.target import Target

Plan = Callable[[dict, Target], list[str]]


def planned(plan: Plan):
    """Declares the dry run of the decorated action: plan(arguments, target) -> lines, the
    arguments as the action would get them (its own defaults applied)."""
    def attach(action):
        action.plan = plan
        return action
    return attach


def arguments_of(action: Callable, given: dict) -> dict:
    """The arguments `action` runs with when called with `given`: its defaults filled in; its
    configuration left out (the plan gets the target itself). TypeError on an argument it lacks."""
    bound = inspect.signature(action).bind_partial(**given)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k != "configuration"}
