"""The traffic of a game day against the core API: people browsing, API clients doing work that
costs CPU (what the HPA scales on), and planners whose requests go through to an agent.

Run it through loadtests.runner (Locust in its own process); the shape comes from --profile.
"""

import random
from functools import partial

from locust import HttpUser, between, task

from loadtests import timeline  # noqa: F401  (records the 1 s per-endpoint timeline)
from loadtests.shapes import ProfileShape, profile_from_env  # noqa: F401  (Locust picks up the shape class)

TIMEOUT_S = profile_from_env().timeout_s


class Client(HttpUser):
    """What every user here is: a client that gives up on a request after the profile's timeout_s
    (a pod nobody can reach then shows as failed requests, not as users hanging on it)."""
    abstract = True

    def __init__(self, environment):
        super().__init__(environment)
        self.client.request = partial(self.client.request, timeout=TIMEOUT_S)


class Browser(Client):
    """Someone looking around the catalogue."""
    weight = 3
    wait_time = between(0.5, 1.5)

    @task(3)
    def list_items(self):
        self.client.get("/api/items")

    @task(5)
    def view_item(self):
        self.client.get(f"/api/items/{random.randrange(50)}", name="/api/items/{id}")

    @task(1)
    def home(self):
        self.client.get("/")


class ApiClient(Client):
    """A client calling the endpoint whose every request burns CPU on the server."""
    weight = 2
    wait_time = between(0.2, 0.6)

    @task
    def work(self):
        self.client.get("/api/work")


class Planner(Client):
    """Asks for a plan: the core API calls the coordination agent for each one."""
    weight = 1
    wait_time = between(1, 2)

    @task
    def plan(self):
        self.client.get("/api/plan")
