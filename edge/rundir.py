"""A run's directory: where one game day keeps everything it recorded, and the readers of the
artifacts its processes append to while it runs (each a torn last line tolerant: a crash
mid-write loses that line, not the file)."""

import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from edge.files import columns_of, read_json_lines

REPO = Path(__file__).resolve().parents[1]
TIMELINE_COLUMNS = ["t", "method", "name", "requests", "failures", "rt_ms"]
READINESS_COLUMNS = ["t", "kind", "name", "ready", "desired", "min_available"]


def load_readiness(path: str | Path) -> pd.DataFrame:
    """The sampler's lines; a torn last line (a crash mid-write) is dropped."""
    frame = columns_of(read_json_lines(path), READINESS_COLUMNS)
    frame["time"] = pd.to_datetime(frame.t, unit="s", utc=True)
    return frame



def new_run_dir(name: str) -> Path:
    """RUNS/<UTC time>-<name>: where one run keeps everything it recorded. RUNS is $GAMEDAY_RUNS,
    else runs/ in the repository (the in-cluster runner's tree is read-only: its RUNS is a volume)."""
    runs = Path(os.environ.get("GAMEDAY_RUNS") or REPO / "runs")
    return runs / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{name}"


def load_timeline(path: str | Path) -> pd.DataFrame:
    """One row per second and endpoint; a torn last line (a crash mid-write) is dropped."""
    return columns_of(read_json_lines(path), TIMELINE_COLUMNS)


def load_users(path: str | Path) -> pd.DataFrame:
    """Locust's user count per second (t, users), from the Aggregated rows of its stats history;
    a torn last row (Locust killed mid-write) is dropped."""
    history = pd.read_csv(path, usecols=["Timestamp", "User Count", "Name"], on_bad_lines="skip")
    rows = history[history.Name == "Aggregated"].dropna(subset=["Timestamp", "User Count"])
    return pd.DataFrame({"t": rows.Timestamp.astype(float), "users": rows["User Count"].astype(int)})
