"""What the suite adds to any locustfile (the runner passes `-f LOCUSTFILE,loadtests/harness.py`):
the 1 s per-endpoint timeline every verdict on the client side reads (in one process, or sent by
each worker to the master: loadtests.distributed), and the shape that follows the game day's load
profile. A user's locustfile needs nothing of the suite's: its users, tasks and paths are its
own; it must not bring a LoadTestShape (the profile is the shape)."""

from loadtests import timeline  # noqa: F401  (records every request into $GAMEDAY_TIMELINE)
from loadtests.shapes import ProfileShape  # noqa: F401  (Locust picks up the shape class)
