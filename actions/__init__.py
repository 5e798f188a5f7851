"""Chaos Toolkit actions of the suite: plain functions with typed arguments, plain data back. The
faults they leave in place and what undoes each are declared in core.faults."""
