"""pytest for kube-gameday. Every test session gets one run directory, runs/<UTC time>-pytest/,
where tests keep what they recorded (load timelines, Prometheus data, chaos journals): the
evidence stays inspectable after the run, and later reports can be built from it.

The game-day fixtures live here too: `seed_stack` (stack.yaml, guarded: context, namespace,
Prometheus) and `game_day`, which runs an experiment through gameday.run into the session's run
directory (the experiment's control brings the load and the readiness sampler)."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from edge.stack import load_stack
from gameday.guard import GuardError, guard
from gameday.run import Result, run_game_day

RUNS = Path(__file__).resolve().parent / "runs"


@pytest.fixture(scope="session")
def run_dir() -> Path:
    path = RUNS / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-pytest"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def seed_stack():
    stack = load_stack()
    try:
        guard(stack)
    except GuardError as err:
        pytest.fail(f"the stack is not ready for a game day ({err}): run `make deploy`")
    return stack


@pytest.fixture
def game_day(seed_stack, run_dir, record_property, request):
    """game_day(experiment_path) -> Result, its artifacts in runs/<session>/<test>-<experiment>/."""
    def run(experiment: Path) -> Result:
        name = request.node.name.replace("[", "-").rstrip("]")  # a parametrized test's id tells its runs apart
        name += "" if experiment.stem in name else f"-{experiment.stem}"
        result = run_game_day(experiment, seed_stack, run_dir / name)
        for v in result.verdicts:
            record_property(v.name, f"{v.status}: {v.observed}")
        return result
    return run
