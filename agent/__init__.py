"""The node agent: the program of the privileged pod that applies one fault on its node's host and
reverts it by itself (core.agents holds the protocol; actions.agents starts it)."""
