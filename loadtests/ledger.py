"""Records, inside the Locust process, what became of every order the writers placed: one line
per write, appended as soon as its answer (or the client's giving up) is known, so a crash
loses nothing already answered.

    {"id": "w3f2c…-17", "sent": 1763758800.12, "done": 1763758800.15, "outcome": "ack", "server": "10.244.1.8",
     "cached": true}

outcome: ack (201: committed), error (refused: it certainly did not apply), unknown (no answer,
a broken connection, a 504: it may have applied). core.ledger judges the file against a read-back.
The file is $GAMEDAY_LEDGER (none: nothing recorded); a worker of a distributed run sends its lines
to the master's (loadtests.distributed).

Beside it, reads.jsonl: each acknowledged order read from the replicas until they show it, one
line an order (times in unix seconds; visible null: never shown, error: a read that reached no
replica), which core.ledger.stale_reads judges:

    {"id": "w3f2c…-17", "acked": 1763758800.15, "first": 1763758800.16, "last": 1763758800.31,
     "visible": 1763758800.31, "reads": 3, "error": ""}
"""

import os
from pathlib import Path

from locust import events

from core.ledger import ACK, outcome_of
from loadtests import distributed


_writes = None  # a distributed.LineFile (opened by its first line: a run without writers leaves no file) or Outbox
_reads = None


def record(order_id: str, sent: float, done: float, status: int, server: str, cached: bool = False) -> None:
    if _writes is not None:
        outcome = outcome_of(status)
        _writes.write({"id": order_id, "sent": round(sent, 4), "done": round(done, 4), "outcome": outcome,
                       "server": server if outcome == ACK else "", "cached": outcome == ACK and bool(cached)})


def record_read(order_id: str, acked: float, first: float, last: float, visible: float | None, reads: int,
                error: str) -> None:
    if _reads is not None:
        _reads.write({"id": order_id, "acked": round(acked, 4), "first": round(first, 4), "last": round(last, 4),
                      "visible": None if visible is None else round(visible, 4), "reads": reads, "error": error})


@events.init.add_listener
def _open(environment, **_):
    global _writes, _reads
    path = os.environ.get("GAMEDAY_LEDGER")
    if environment.parsed_options is not None:  # closed with the run's other files (loadtests.distributed)
        _writes = distributed.sink(environment, "writes", path)
        _reads = distributed.sink(environment, "reads", path and Path(path).with_name("reads.jsonl"))
