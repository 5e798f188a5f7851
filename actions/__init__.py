"""Chaos Toolkit actions of the suite: plain functions with typed arguments, plain data back. Each
takes the game day's target from its `configuration` (core.target) and nothing from the
environment. The faults they leave in place and what undoes each are declared in core.faults.

An action is a select (reads only: which pods, which node) and an apply; its dry run, declared
with @planned, calls the same select with the same arguments, so a dry run names what the run
would touch."""

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
