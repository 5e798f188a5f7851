"""Records, inside the Locust process, what became of every order the writers placed: one line
per write, appended as soon as its answer (or the client's giving up) is known, so a crash
loses nothing already answered.

    {"id": "w3f2c…-17", "sent": 1763758800.12, "done": 1763758800.15, "outcome": "ack", "server": "10.244.1.8"}

outcome: ack (201: committed), error (refused: it certainly did not apply), unknown (no answer,
a broken connection, a 504: it may have applied). core.ledger judges the file against a read-back.
The file is $GAMEDAY_LEDGER (none: nothing recorded).
"""

import json
import os

from locust import events

from core.ledger import ACK, outcome_of


class LedgerFile:
    def __init__(self, path: str):
        self.path, self.out = path, None

    def record(self, order_id: str, sent: float, done: float, status: int, server: str) -> None:
        if self.out is None:    # opened by the first write: a run without writers leaves no file
            self.out = open(self.path, "a", buffering=1)    # a line a write
        outcome = outcome_of(status)
        self.out.write(json.dumps({"id": order_id, "sent": round(sent, 4), "done": round(done, 4),
                                   "outcome": outcome, "server": server if outcome == ACK else ""}) + "\n")

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


_file: LedgerFile | None = None


def record(order_id: str, sent: float, done: float, status: int, server: str) -> None:
    if _file is not None:
        _file.record(order_id, sent, done, status, server)


@events.init.add_listener
def _open(environment, **_):
    global _file
    path = os.environ.get("GAMEDAY_LEDGER")
    if path and environment.parsed_options is not None:
        _file = LedgerFile(path)


@events.quitting.add_listener
def _close(**_):
    if _file is not None:
        _file.close()
