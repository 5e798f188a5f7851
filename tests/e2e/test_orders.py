"""The core API's orders on the stateful tier: committed on the Patroni leader through
postgres-primary, read through postgres-replica, cached in the Redis Cluster, read back by id.
What a failover does to them under the writers' load is the postgres-primary-killed game day's."""

import uuid

import pytest
import requests

from edge.stack import load_stack
from tests.e2e.test_stateful_tier import settled
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster

SEED = load_stack()
ENTRY = SEED.entry_url


@pytest.fixture(scope="module")
def tier():
    return wait_until(settled, 180, what="one PostgreSQL leader and two ready replicas (run `make deploy`)")


def place(order_id: str) -> requests.Response:
    return requests.post(f"{ENTRY}/api/orders", json={"id": order_id}, timeout=10)


def read_back(ids: list[str], route: str = "found") -> dict:
    response = requests.post(f"{ENTRY}/api/orders/{route}", json={"ids": ids}, timeout=30)
    response.raise_for_status()
    return response.json()


def test_an_order_is_committed_by_the_leader_read_on_a_replica_and_cached(tier):
    order_id = f"e2e-{uuid.uuid4().hex}"
    placed = place(order_id)
    assert placed.status_code == 201, placed.text
    assert placed.json()["server"] == tier["leader"]["ip"] and placed.json()["cached"] is True
    assert place(order_id).status_code == 409          # an id is written once
    replica = wait_until(lambda: (r := requests.get(f"{ENTRY}/api/orders/{order_id}", timeout=10)).ok and r.json(),
                         30, interval=0.5, what=f"{order_id} on a replica")
    assert replica["from"] == "replica" and replica["lag_s"] >= 0
    assert read_back([order_id, "never-placed"])["found"] == [order_id]
    assert read_back([order_id, "never-placed"], "cached")["found"] == [order_id]
