"""Every experiment is a valid Chaos Toolkit file (`chaos validate`), so plain `chaos run` works."""

import subprocess
import sys
from pathlib import Path

import pytest

EXPERIMENTS = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.yaml"))
CHAOS = Path(sys.executable).with_name("chaos")


def test_there_are_experiments():
    assert EXPERIMENTS


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.name)
def test_chaos_validate_accepts(experiment, tmp_path):
    result = subprocess.run([str(CHAOS), "--no-log-file", "validate", str(experiment)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
