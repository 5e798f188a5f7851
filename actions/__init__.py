"""Chaos Toolkit actions of the suite: plain functions with typed arguments, plain data back."""
