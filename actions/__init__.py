"""Chaos Toolkit actions of the suite: plain functions with typed arguments, plain data back. Each
takes the game day's target from its `configuration` (core.target) and nothing from the
environment. The faults they leave in place and what undoes each are declared in core.faults.

An action is a select (reads only: which pods, which node) and an apply; its dry run, declared
with @planned, calls the same select with the same arguments, so a dry run names what the run
would touch (core.plans: probes declare theirs the same way)."""
