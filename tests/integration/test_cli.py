"""The `gameday` command line, as a user runs it (a real process): listing, and bad input that
must end in one clear message and exit code 3 before anything touches a cluster."""

import subprocess
import sys

from tests.integration.local import REPO


def gameday(*args, env=None):
    return subprocess.run([sys.executable, "-m", "gameday.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=env)


def test_list_names_every_experiment_and_marks_the_ci_subset():
    out = gameday("list")
    assert out.returncode == 0, out.stderr
    for path in (REPO / "experiments").glob("*.yaml"):
        assert path.stem in out.stdout
    assert "* pod-kill-under-load" in out.stdout and "* hpa-scale-out" not in out.stdout
    assert "steady" in out.stdout.split("load profiles")[1]


def test_an_unknown_experiment_is_named_and_exits_3():
    out = gameday("run", "no-such-experiment")
    assert out.returncode == 3
    assert "no-such-experiment': no such file, nor no-such-experiment.yaml in " in out.stderr


def test_a_broken_stack_file_is_named_and_exits_3(tmp_path):
    stack = tmp_path / "stack.yaml"
    seed = (REPO / "stack.yaml").read_text()
    stack.write_text(seed.replace("http://127.0.0.1:30080", "not-a-url", 1))
    out = gameday("run", "pod-kill-under-load", "--stack", str(stack))
    assert out.returncode == 3
    assert str(stack) in out.stderr and "urls.entry" in out.stderr


def test_an_unreadable_artifact_is_named_and_exits_3(tmp_path):
    (tmp_path / "journal.json").write_text("{not json")
    out = gameday("report", str(tmp_path))
    assert out.returncode == 3 and f"{tmp_path}: journal.json: not valid JSON" in out.stderr, out.stderr


def test_a_failure_of_the_suite_itself_exits_3_never_1(tmp_path):
    """1 means a verdict failed; a bug the suite did not foresee (here a journal time it cannot
    parse) is exit 3 with its traceback."""
    (tmp_path / "journal.json").write_text('{"start": "yesterday", "end": "today"}')
    out = gameday("report", str(tmp_path))
    assert out.returncode == 3 and "gameday report: internal error" in out.stderr and "Traceback" in out.stderr, \
        out.stderr
