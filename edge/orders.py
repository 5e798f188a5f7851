"""The read-back of a game day's writes: which of the orders its writers placed the stack holds
once the run is over, asked of the core API: POST /api/orders/found (on the PostgreSQL leader) or
/api/orders/cached (in the Redis Cluster).
The database may still be failing over when the run ends: it is asked again until it answers or
the deadline passes, and a read-back that never answered says why (its verdicts: inconclusive)."""

import time

import requests

from core.ledger import ReadBack
from edge.poll import poll

CHUNK = 20_000      # ids per request (the core API takes up to 50,000)
SOURCES = {"found": "postgres-primary", "cached": "redis-cluster"}   # the core API's read-back routes


def read_back(entry_url: str, ids: list[str], deadline_s: float = 60, route: str = "found") -> ReadBack:
    found: set[str] = set()
    answer: dict = {}
    url = f"{entry_url}/api/orders/{route}"

    def ask() -> tuple[bool, str]:
        found.clear()
        try:
            for start in range(0, len(ids), CHUNK):
                response = requests.post(url, json={"ids": ids[start:start + CHUNK]}, timeout=30)
                if response.status_code != 200:
                    return False, f"{url} answered {response.status_code}: {response.text[:200]}"
                answer.update(response.json())
                found.update(answer["found"])
        except (requests.RequestException, ValueError, KeyError) as err:
            return False, f"{url}: {type(err).__name__}: {err}"
        return True, ""
    started = time.time()
    done, why, _ = poll(ask, deadline_s, f"the read-back of {len(ids):,} orders", poll_s=2)
    if not done:
        return ReadBack(None, None, f"no answer in {deadline_s:.0f} s: {why}", SOURCES[route])
    return ReadBack(frozenset(found), float(answer.get("at", started)), source=answer.get("source", SOURCES[route]))
