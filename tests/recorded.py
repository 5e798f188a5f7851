"""Real game-day runs kept as test fixtures (tests/fixtures/game-days/<name>.tar.gz): the artifacts a
run directory holds, recorded on the kind cluster, for building reports without a cluster."""

import tarfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "game-days"


def recorded_run(name: str, into: Path) -> Path:
    """Unpacks the recorded run `name` into `into`/<name>/ and returns that run directory."""
    run = into / name
    with tarfile.open(FIXTURES / f"{name}.tar.gz") as archive:
        archive.extractall(run, filter="data")
    return run
