"""Every experiment of experiments/ that lists kube-gameday verdicts, run as a game day against
the seed stack: it passes only if every verdict passes (not on chaos run's exit code)."""

from pathlib import Path

import pytest
import yaml

from gameday.judge import EXTENSION

EXPERIMENTS = sorted(p for p in (Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml")
                     if any(e.get("name") == EXTENSION for e in yaml.safe_load(p.read_text()).get("extensions") or []))


@pytest.mark.gameday
@pytest.mark.cluster
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_game_day(game_day, experiment):
    result = game_day(experiment)
    summary = "\n".join(f"{v.status:>12} {v.name}: {v.observed} {v.reason}" for v in result.verdicts)
    assert result.status == "pass", f"{result.error}\n{summary}\nartifacts: {result.run_dir}"
