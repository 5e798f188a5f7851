"""The reference service under test: a core API that calls an agent, and the agents.

One program, two roles (ROLE=core|agent), so one image serves the whole seed stack.
"""
