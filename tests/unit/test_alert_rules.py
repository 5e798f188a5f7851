"""The alert rules `deploy/` loads: valid for Prometheus, and their promtool unit tests pass."""

import subprocess
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "deploy/monitoring/rules"


def promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=RULES, timeout=120)


def test_rule_files_are_valid():
    files = sorted(str(p.relative_to(RULES)) for p in [*RULES.glob("*.yaml"), *RULES.glob("kind/*.yaml")])
    assert files, "no rule files"
    result = promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass():
    tests = sorted(str(p.relative_to(RULES)) for p in [*RULES.glob("tests/*.test.yaml"),
                                                        *RULES.glob("kind/tests/*.test.yaml")])
    assert tests, "no promtool tests"
    result = promtool("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr
