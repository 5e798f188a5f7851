"""A run's directory: where one game day keeps everything it recorded, read back by RunDir, once
per artifact and with one time parser. The judge, the report and the trend take a RunDir.

    journal.json        Chaos Toolkit's journal: the method's and rollbacks' activities, with times
    events.jsonl        the control's account as it happened: activities and rollbacks started/ended
                        (and what a long activity noted it is at: note_progress)
    readiness.jsonl     the sampler's lines, ≤ 1 s apart (gameday.sampler)
    guardrails.jsonl    each guardrail's value once a second while the faults were in effect (gameday.guardrails)
    load/               Locust's 1 s timeline, stats history, profile.json and the runner's verdicts,
                        generators.jsonl (each load generator's CPU, each worker lost mid-run);
                        with writers, ledger.jsonl (every order and what became of it) and
                        readback.json (which of them the database held after the run),
                        readback-cache.json (which of those the cache took it held), reads.jsonl
                        (each acknowledged order read from the replicas until they showed it)
    prometheus.jsonl    the run's Prometheus series, recorded after the run (gameday.record)
    verdicts.json       the run's status, notes, target and verdicts; junit.xml, report.html

A file a process appends to while it runs tolerates a torn last line (a crash mid-write loses
that line, not the file).
"""

import json
import os
import time
from collections import Counter
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from core.generators import GENERATOR_COLUMNS
from core.ledger import ReadBack, ledger_frame, reads_frame
from core.load_stats import PerSecond, per_second
from core.verdict import Window, upgraded, utc
from edge.files import columns_of, frame_of_json_lines, iter_json_lines, json_line_chunks, read_json_lines
from edge.home import runs_root

EVENTS = "events.jsonl"
PROGRESS = "activity-progress"  # an event an activity writes of itself (note_progress)
PROMETHEUS_STEP_S = 5  # prometheus.jsonl's step: the kind Prometheus scrapes and evaluates every 5 s
TIMELINE_COLUMNS = ["t", "method", "name", "requests", "failures", "rt_ms"]
READINESS_COLUMNS = ["t", "kind", "name", "ready", "desired", "min_available", "role", "leader", "ip"]
GUARDRAIL_COLUMNS = ["t", "guardrail", "value", "blind"]


def load_readiness(path: str | Path) -> pd.DataFrame:
    """The sampler's lines; a torn last line (a crash mid-write) is dropped."""
    frame = frame_of_json_lines(path, READINESS_COLUMNS, labels=("kind", "name"))
    frame["time"] = pd.to_datetime(frame.t, unit="s", utc=True)
    return frame



def new_run_dir(name: str) -> Path:
    """RUNS/<UTC time>-<name>: where one run keeps everything it recorded (RUNS: edge.home.runs_root)."""
    return runs_root() / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{name}"


def append_event(run_dir: Path, event: str, **fields) -> None:
    """One line of events.jsonl, flushed: the run's own account of what it is doing, read live
    by the progress line and the interrupt handling while chaos runs."""
    with open(Path(run_dir) / EVENTS, "a") as f:
        f.write(json.dumps({"t": round(time.time(), 3), "event": event, **fields}, default=str) + "\n")


def note_progress(note: str) -> None:
    """What a long activity is at (a zone's evictions: minutes), for the live progress line: an
    activity-progress event in the run's events.jsonl ($GAMEDAY_RUN_DIR, which the runner sets for
    chaos); nothing outside a run."""
    if run_dir := os.environ.get("GAMEDAY_RUN_DIR"):
        append_event(Path(run_dir), PROGRESS, note=note)


def read_events(run_dir: Path) -> list[dict]:
    """events.jsonl as it stands now (a line being written is left for the next read)."""
    path = Path(run_dir) / EVENTS
    return read_json_lines(path) if path.exists() else []


def load_timeline(path: str | Path) -> pd.DataFrame:
    """One row per second and endpoint; a torn last line (a crash mid-write) is dropped."""
    return one_line_a_second(frame_of_json_lines(path, TIMELINE_COLUMNS, labels=("method", "name"),
                                                 histograms=("rt_ms",)))


def load_generators(path: str | Path) -> pd.DataFrame:
    """The load generators' account (loadtests.distributed): CPU samples and lost workers."""
    return columns_of(read_json_lines(path), GENERATOR_COLUMNS)


def one_line_a_second(frame: pd.DataFrame) -> pd.DataFrame:
    """The workers of a distributed load each send their own line for a second and endpoint:
    summed into one (counts add, and so do the response-time histograms)."""
    keys = ["t", "method", "name"]
    repeated = frame.duplicated(keys, keep=False)
    if not repeated.any():
        return frame

    def histograms(column: pd.Series) -> dict:
        total = Counter()
        for rt in column:
            total.update(rt)
        return dict(total)
    merged = frame[repeated].groupby(keys, as_index=False, sort=False).agg(
        requests=("requests", "sum"), failures=("failures", "sum"), rt_ms=("rt_ms", histograms))
    return pd.concat([frame[~repeated], merged]).sort_values("t", kind="stable").reset_index(drop=True)


def load_users(path: str | Path) -> pd.DataFrame:
    """Locust's user count per second (t, users), from the Aggregated rows of its stats history;
    a torn last row (Locust killed mid-write) is dropped."""
    history = pd.read_csv(path, usecols=["Timestamp", "User Count", "Name"], on_bad_lines="skip")
    rows = history[history.Name == "Aggregated"].dropna(subset=["Timestamp", "User Count"])
    return pd.DataFrame({"t": rows.Timestamp.astype(float), "users": rows["User Count"].astype(int)})


class RunDirError(Exception):
    """An artifact of the run is there but cannot be read."""


class RunDir:
    """One run's artifacts, each read on first use; a missing artifact is None (or empty), an
    unreadable one raises RunDirError naming it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        return (self.path / name).exists()

    def _json(self, name: str):
        path = self.path / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except OSError as err:
            raise RunDirError(f"{name}: cannot read: {err.strerror}") from err
        except (ValueError, UnicodeDecodeError) as err:
            raise RunDirError(f"{name}: not valid JSON ({err})") from err

    @cached_property
    def journal(self) -> dict | None:
        journal = self._json("journal.json")
        if journal is not None and not isinstance(journal, dict):
            raise RunDirError("journal.json is not a Chaos Toolkit journal")
        return journal

    @cached_property
    def handed(self) -> dict | None:
        """target.json's configuration: what the runner handed the experiment (gameday.run)."""
        target = self._json("target.json")
        return target.get("configuration") if isinstance(target, dict) else None

    @cached_property
    def window(self) -> Window | None:
        """From the journal's start to its end: the run as Chaos Toolkit timed it."""
        journal = self.journal or {}
        if not journal.get("start") or not journal.get("end"):
            return None
        return Window(utc(journal["start"]), utc(journal["end"]))

    def activities(self, part: str = "run", kind: str | None = "action") -> list[dict]:
        """The journal's records of the method ("run") or the rollbacks, of one activity type."""
        return [r for r in (self.journal or {}).get(part) or [] if kind is None or r["activity"].get("type") == kind]

    @cached_property
    def record(self) -> dict | None:
        """verdicts.json, every verdict with its check, subject and after (core.verdict.upgraded)."""
        record = self._json("verdicts.json")
        if record is None:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("verdicts"), list):
            raise RunDirError("verdicts.json holds no game-day verdicts")
        return {**record, "verdicts": [upgraded(v) for v in record["verdicts"] if isinstance(v, dict)]}

    @cached_property
    def capacity_model(self) -> dict | None:
        """The capacity model a step-load run fitted: its capacity_for_target verdict's details
        (probes.capacity), None when it judged none."""
        verdicts = (self.record or {}).get("verdicts") or []
        return next((v["details"] for v in verdicts
                     if v["check"] == "capacity_for_target" and (v.get("details") or {}).get("deployments")), None)

    @property
    def target(self) -> tuple[str | None, str | None]:
        """(stack, namespace) the run was on, as verdicts.json names them."""
        target = (self.record or {}).get("target") or {}
        return target.get("stack"), target.get("namespace")

    @cached_property
    def predictions(self) -> list[dict]:
        """predictions.json: what the game day should see, predicted before its faults (core.predictions)."""
        predictions = self._json("predictions.json")
        return predictions if isinstance(predictions, list) else []

    @cached_property
    def profile(self) -> dict | None:
        return self._json("load/profile.json")

    @cached_property
    def timeline(self) -> pd.DataFrame | None:
        return load_timeline(self.path / "load/timeline.jsonl") if self.has("load/timeline.jsonl") else None

    @cached_property
    def per_second(self) -> PerSecond | None:
        """The timeline summed per second over its endpoints (what the report draws), read from the
        file a chunk at a time: a 24 h soak's per-endpoint histograms are never all held."""
        if self.__dict__.get("timeline") is not None:
            return per_second(self.timeline)
        path = self.path / "load/timeline.jsonl"
        return per_second(json_line_chunks(path, ["t", "requests", "failures", "rt_ms"])) if path.exists() else None

    @cached_property
    def users(self) -> pd.DataFrame | None:
        history = self.path / "load/locust_stats_history.csv"
        return load_users(history) if history.exists() else None

    @cached_property
    def generators(self) -> pd.DataFrame | None:
        """The load generators' CPU and lost workers (loadtests.distributed); None before they were kept."""
        path = self.path / "load/generators.jsonl"
        return load_generators(path) if path.exists() else None

    @cached_property
    def ledger(self) -> pd.DataFrame | None:
        """The writers' ledger (core.ledger); None when the load had no writers."""
        path = self.path / "load/ledger.jsonl"
        return ledger_frame(read_json_lines(path)) if path.exists() else None

    @cached_property
    def reads(self) -> pd.DataFrame | None:
        """The writers' reads of their acknowledged orders from the replicas; None when they made none."""
        path = self.path / "load/reads.jsonl"
        return reads_frame(read_json_lines(path)) if path.exists() else None

    @cached_property
    def readback(self) -> ReadBack | None:
        """What the database held of the ledger's orders after the run; None when none was made."""
        return self._readback("load/readback.json")

    @cached_property
    def cache_readback(self) -> ReadBack | None:
        """What the cache held of the orders it took (the ledger's `cached`) after the run."""
        return self._readback("load/readback-cache.json")

    def _readback(self, name: str) -> ReadBack | None:
        data = self._json(name)
        if data is None:
            return None
        found = data.get("found")
        return ReadBack(None if found is None else frozenset(found), data.get("at"), data.get("error", ""),
                        data.get("source", ""))

    @cached_property
    def readiness(self) -> pd.DataFrame | None:
        return load_readiness(self.path / "readiness.jsonl") if self.has("readiness.jsonl") else None

    @cached_property
    def guardrails(self) -> pd.DataFrame | None:
        """The guardrail watcher's samples (t, guardrail, value, blind); None if it never ran."""
        if not self.has("guardrails.jsonl"):
            return None
        return frame_of_json_lines(self.path / "guardrails.jsonl", GUARDRAIL_COLUMNS, labels=("guardrail",))

    @cached_property
    def prometheus(self) -> dict[str, list[dict]]:
        """prometheus.jsonl by query name: each a list of {labels, values: [[unix_ts, value], ...]},
        values an array of rows (a day at a 5 s step is 17,280 of them per series; no value: NaN)."""
        series: dict[str, list[dict]] = {}
        for row in iter_json_lines(self.path / "prometheus.jsonl") if self.has("prometheus.jsonl") else []:
            row["values"] = np.array(row["values"], dtype=float).reshape(-1, 2)
            series.setdefault(row["name"], []).append(row)
        return series

    @cached_property
    def events(self) -> list[dict]:
        """events.jsonl: what the control saw happen, in order (gameday.controls)."""
        return read_events(self.path)


def runs_with_a_capacity_model(runs: Path) -> Iterator[RunDir]:
    """The runs under `runs` whose verdicts.json holds a capacity model, newest first: a game day's
    own directory (<UTC time>-<name>) or one of a pytest session's (<UTC time>-pytest/<test>)."""
    found = [*runs.glob("*/verdicts.json"), *runs.glob("*/*/verdicts.json")] if runs.is_dir() else []
    for path in sorted(found, key=lambda p: p.parent.relative_to(runs).parts, reverse=True):
        try:
            if (run := RunDir(path.parent)).capacity_model is not None:
                yield run
        except RunDirError:
            continue


def capacity_run(run: str, namespace: str) -> RunDir:
    """The step-load run whose capacity model sizes something: `run` names its directory, or is
    "latest" for the newest run on `namespace` under runs_root() that holds one."""
    if run == "latest":
        found = next((r for r in runs_with_a_capacity_model(runs_root()) if r.target[1] == namespace), None)
        if found is None:
            raise RunDirError(f"no run on namespace {namespace!r} under {runs_root()} holds a capacity model: "
                              "`gameday run capacity-step-load` makes one")
        return found
    found = RunDir(run)
    if not found.has("verdicts.json"):
        raise RunDirError(f"{run}: no verdicts.json there (a capacity-step-load run's directory?)")
    if found.capacity_model is None:
        raise RunDirError(f"{run}/verdicts.json: no capacity_for_target verdict with a model")
    return found
