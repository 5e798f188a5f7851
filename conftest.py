"""pytest for kube-gameday. Every test session gets one run directory, runs/<UTC time>-pytest/,
where tests keep what they recorded (load timelines, Prometheus data, chaos journals): the
evidence stays inspectable after the run, and later reports can be built from it. The game-day
fixtures (cluster, stack, load process) join here with the game-day runner."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

RUNS = Path(__file__).resolve().parent / "runs"


@pytest.fixture(scope="session")
def run_dir() -> Path:
    path = RUNS / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-pytest"
    path.mkdir(parents=True, exist_ok=True)
    return path
