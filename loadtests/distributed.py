"""What the harness records, in whichever of Locust's modes it runs: one process, or a master and
N workers (loadtests.runner --workers). A worker has no files of the run: each of its stats
reports (every 3 s) carries the lines it recorded since the last one (timeline seconds, ledger
lines) to the master, which appends them to the run's files. A second and endpoint may then have
one timeline line per worker: edge.rundir.load_timeline sums them, exactly (the histograms add).

Beside them, the master (or the one process) keeps generators.jsonl ($GAMEDAY_GENERATORS): each
load generator's CPU once a second, as Locust samples it, and each worker lost while the load ran,
with the stretch whose requests nobody will ever count (from its last report to its loss):

    {"t": 1763758800, "generator": "worker 1", "id": "gameday-w1_3f2c…", "cpu": 64.5, "state": "running"}
    {"t": 1763758812, "generator": "worker 1", "id": "gameday-w1_3f2c…", "lost": true, "last_report": 1763758806.2}
"""

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import gevent
from locust import events
from locust.runners import (STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, STATE_STOPPED, WORKER_REPORT_INTERVAL,
                            MasterRunner, WorkerRunner)

REPORT_KEY = "gameday"
SAMPLE_EVERY_S = 1.0
LAST_REPORT_WAIT_S = WORKER_REPORT_INTERVAL + 2  # a stopped worker's last report comes with its next tick


class LineFile:
    """A JSON-lines file appended a line at a time, opened by its first line."""

    def __init__(self, path: str | Path):
        self.path, self.out = Path(path), None

    def write(self, line: dict) -> None:
        if self.out is None:
            self.out = open(self.path, "a", buffering=1)
        self.out.write(json.dumps(line) + "\n")

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None


class Outbox:
    """A worker's lines of one kind, held until its next stats report carries them to the master."""

    def __init__(self, kind: str):
        self.kind = kind

    def write(self, line: dict) -> None:
        _outbox.setdefault(self.kind, []).append(line)

    def close(self) -> None:
        pass


_outbox: dict[str, list[dict]] = {}
_files: dict[str, LineFile] = {}          # by kind, in the process that holds the run's files
_before_report: list[Callable[[], None]] = []
_runner = None


def is_worker(environment) -> bool:
    return isinstance(environment.runner, WorkerRunner)


def sink(environment, kind: str, path: str | Path | None) -> LineFile | Outbox | None:
    """Where this process's lines of `kind` go: a worker's go to the master; elsewhere, to the
    file at `path` (None: the run keeps no such file)."""
    if is_worker(environment):
        return Outbox(kind)
    if not path:
        return None
    _files[kind] = LineFile(path)
    return _files[kind]


def before_each_report(flush: Callable[[], None]) -> None:
    """flush() runs before a worker's report is sent: a recorder moves all it holds into the
    outbox, the second still going too (its rest comes with the next report, and the reader sums
    them), so the lines hold every request the report's own stats count."""
    _before_report.append(flush)


def stopped(runner) -> bool:
    return runner.state not in (STATE_SPAWNING, STATE_RUNNING)


@events.report_to_master.add_listener
def _send_lines(client_id, data, **_):
    # final once the users are gone: while they stop (Locust's cleanup state) they may still answer
    final = _runner is not None and _runner.state == STATE_STOPPED
    for flush in _before_report:
        flush()
    data[REPORT_KEY] = {"lines": dict(_outbox), "final": final}
    _outbox.clear()


class Generators:
    """The master's (or the one process's) account of the load generators: CPU once a second,
    workers lost while the load ran, and the last report of each worker."""

    def __init__(self, runner, path: str | Path | None):
        self.runner, self.out = runner, LineFile(path) if path else None
        self.last_report: dict[str, float] = {}
        self.final_at: dict[str, float] = {}
        self.lost: set[str] = set()

    def name(self, client_id: str) -> str:
        return f"worker {self.runner.get_worker_index(client_id) + 1}"

    def connected(self, client_id: str) -> None:
        self.last_report.setdefault(client_id, time.time())

    def reported(self, client_id: str, final: bool) -> None:
        now = time.time()
        self.last_report[client_id] = now
        if final:
            self.final_at[client_id] = now

    def sample(self) -> None:
        if self.out is None:
            return
        now = int(time.time())
        if not isinstance(self.runner, MasterRunner):
            self.out.write({"t": now, "generator": "locust", "cpu": self.runner.current_cpu_usage})
            return
        self.out.write({"t": now, "generator": "master", "cpu": self.runner.current_cpu_usage})
        for client in self.runner.clients.all:
            if client.state != STATE_MISSING:
                self.out.write({"t": now, "generator": self.name(client.id), "id": client.id,
                                "cpu": client.cpu_usage, "state": client.state})
        if not stopped(self.runner):  # a worker leaves the master's list when told to stop: not a loss
            self.losses(now)

    def losses(self, now: int) -> None:
        for client_id, last in self.last_report.items():
            client = self.runner.clients.get(client_id)
            if client_id not in self.lost and (client is None or client.state == STATE_MISSING):
                self.lost.add(client_id)
                self.out.write({"t": now, "generator": self.name(client_id), "id": client_id, "lost": True,
                                "last_report": round(last, 3)})

    def collect_last_reports(self) -> None:
        """Stops the workers' users and waits for each live worker's last lines: the runner's own
        quit would give them half a second, less than a worker's report interval."""
        began = time.time()
        self.runner.stop()
        live = [c for c in self.last_report if c not in self.lost]
        deadline = time.monotonic() + LAST_REPORT_WAIT_S
        while any(self.final_at.get(c, 0) < began for c in live) and time.monotonic() < deadline:
            gevent.sleep(0.2)


@events.init.add_listener
def _start(environment, runner, **_):
    global _runner
    _runner = runner
    if is_worker(environment) or environment.parsed_options is None:
        return
    generators = Generators(runner, os.environ.get("GAMEDAY_GENERATORS"))

    def sample_forever():
        while True:
            gevent.sleep(SAMPLE_EVERY_S)
            generators.sample()
    gevent.spawn(sample_forever)
    if isinstance(runner, MasterRunner):
        def receive(client_id, data, **_):
            sent = data.get(REPORT_KEY) or {}
            for kind, lines in sent.get("lines", {}).items():
                for line in lines if kind in _files else ():
                    _files[kind].write(line)
            generators.reported(client_id, bool(sent.get("final")))
        environment.events.worker_report.add_listener(receive)
        environment.events.worker_connect.add_listener(lambda client_id, **_: generators.connected(client_id))
        # added after the runner's own quitting listener, and quitting fires in reverse: this runs first
        environment.events.quitting.add_listener(lambda **_: generators.collect_last_reports())


@events.quitting.add_listener
def _close(**_):
    for file in _files.values():
        file.close()
