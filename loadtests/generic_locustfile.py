"""The traffic of a game day on a stack that brings no locustfile of its own: visitors spreading
GETs evenly over the paths its stack file lists (load.paths, default "/"). Each path is one
endpoint in the timeline and the report; any answer but a 2xx or 3xx is a failed request."""

import json
import os
import random

from locust import HttpUser, between, task

from loadtests.shapes import profile_from_env

PATHS = json.loads(os.environ.get("GAMEDAY_PATHS") or '["/"]')
TIMEOUT_S = profile_from_env().timeout_s


class Visitor(HttpUser):
    wait_time = between(0.5, 1.5)

    @task
    def get_a_path(self):
        self.client.get(random.choice(PATHS), timeout=TIMEOUT_S)
