"""The traffic of a game day against the core API: people browsing, API clients doing work that
costs CPU (what the HPA scales on), planners whose requests go through to an agent, and, when the
profile asks for them (`writers`), writers placing orders that a failover must not lose.

Run it through loadtests.runner (Locust in its own process, with loadtests.harness beside it); the
shape comes from --profile. The seed stack's file names it (load.locustfile).
"""

import itertools
import random
import time
import uuid
from functools import partial

from locust import HttpUser, between, task

from loadtests import ledger  # the write ledger (the timeline and the shape: loadtests.harness)
from loadtests.shapes import profile_from_env

PROFILE = profile_from_env()
TIMEOUT_S = PROFILE.timeout_s
REPLICA_PATIENCE_S = 5.0    # how long a writer reads an order from the replicas before giving up


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


class Writer(Client):
    """Places orders, one after the other, each with an id no other write has, and notes what
    became of each in the ledger: acknowledged (and by which server), refused, or unknown. Then
    reads each acknowledged order from the replicas until they show it (or REPLICA_PATIENCE_S
    has passed): how stale a client reading its own write from a replica finds them."""
    fixed_count = PROFILE.writers
    abstract = PROFILE.writers == 0     # only in the game days that ask for writers
    wait_time = between(0.05, 0.15)

    def on_start(self):
        writer = uuid.uuid4().hex[:12]    # this writer's own prefix: no two writers' ids collide
        self.ids = (f"{writer}-{n}" for n in itertools.count())

    @task
    def place_order(self):
        order_id = next(self.ids)
        sent = time.time()
        with self.client.post("/api/orders", json={"id": order_id}, catch_response=True) as response:
            done = time.time()
            body = response.json() if response.status_code == 201 else {}
            ledger.record(order_id, sent, done, response.status_code, body.get("server", ""), body.get("cached", False))
            if response.status_code != 201:
                response.failure(f"order not acknowledged: {response.status_code}")
                return
        self.read_from_replicas(order_id, acked=done)

    def read_from_replicas(self, order_id: str, acked: float):
        first, reads, visible, error = time.time(), 0, None, ""
        while True:
            reads += 1
            with self.client.get(f"/api/orders/{order_id}?from=replica", name="/api/orders/{id}",
                                 catch_response=True) as response:
                if response.status_code == 200:
                    visible = time.time()
                elif response.status_code == 404:   # not there yet: stale, not failed
                    response.success()
                else:
                    error = f"{response.status_code} {response.text[:200]}"
                    response.failure(f"no replica answered: {response.status_code}")
            if visible is not None or error or time.time() - acked >= REPLICA_PATIENCE_S:
                break
            time.sleep(0.05)
        ledger.record_read(order_id, acked, first, time.time(), visible, reads, error)
