"""Where the suite finds its files, installed or in its repository: the user's own folders first
(--experiments DIR, $GAMEDAY_HOME), then the bundled ones; runs under the current directory."""

import pytest

from edge import home
from edge.stack import StackError, load_stack
from gameday.guard import load_allowlist


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A user's working directory outside the repository, no GAMEDAY_* set."""
    for name in ("GAMEDAY_HOME", "GAMEDAY_STACK", "GAMEDAY_GUARD", "GAMEDAY_RUNS"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_a_bundled_experiment_and_profile_are_found_by_name_from_anywhere(elsewhere):
    assert home.find("pod-kill-under-load", home.experiment_folders(), "experiment") == \
        home.BUNDLED_EXPERIMENTS / "pod-kill-under-load.yaml"
    assert home.find_profile("steady") == home.BUNDLED_PROFILES / "steady.yaml"
    # the form experiments used to name profiles by: a path under the suite, found by its name
    assert home.find_profile("loadtests/profiles/writes.yaml") == home.BUNDLED_PROFILES / "writes.yaml"


def test_the_users_folders_come_before_the_bundled(elsewhere, tmp_path, monkeypatch):
    mine, gameday_home = tmp_path / "mine", tmp_path / "home"
    for folder in (mine, gameday_home / "experiments", gameday_home / "profiles"):
        folder.mkdir(parents=True)
    (gameday_home / "experiments" / "pod-kill-under-load.yaml").write_text("title: home's\n")
    (gameday_home / "profiles" / "steady.yaml").write_text("shape: steady\n")
    monkeypatch.setenv("GAMEDAY_HOME", str(gameday_home))
    assert home.find("pod-kill-under-load", home.experiment_folders(), "experiment").parent == gameday_home / "experiments"
    (mine / "pod-kill-under-load.yaml").write_text("title: mine\n")
    assert home.find("pod-kill-under-load", home.experiment_folders(mine), "experiment").parent == mine
    assert home.find_profile("steady").parent == gameday_home / "profiles"


def test_a_missing_name_says_every_folder_looked_in(elsewhere, tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        home.find("no-such-game-day", home.experiment_folders(tmp_path), "experiment")
    assert "no-such-game-day.yaml" in str(err.value)
    assert str(tmp_path) in str(err.value) and str(home.BUNDLED_EXPERIMENTS) in str(err.value)


def test_runs_go_under_the_current_directory(elsewhere, monkeypatch, tmp_path):
    assert home.runs_root() == elsewhere / "runs"
    monkeypatch.setenv("GAMEDAY_RUNS", str(tmp_path / "volume"))
    assert home.runs_root() == tmp_path / "volume"


def test_no_stack_file_anywhere_is_an_error_that_says_how_to_get_one(elsewhere):
    with pytest.raises(StackError, match="gameday init NAMESPACE"):
        load_stack()


def test_the_stack_and_the_guard_come_from_gameday_home(elsewhere, tmp_path, monkeypatch):
    gameday_home = tmp_path / "home"
    gameday_home.mkdir()
    (gameday_home / "stack.yaml").write_text(
        "name: shop\nkube_context: kind-shop\nnamespace: shop\n"
        "urls: {entry: 'http://127.0.0.1:8080', prometheus: 'http://127.0.0.1:9090'}\nslo: {objectives: ['p95 < 1s']}\n")
    (gameday_home / "guard.yaml").write_text("contexts: [kind-shop]\n")
    monkeypatch.setenv("GAMEDAY_HOME", str(gameday_home))
    assert load_stack().namespace == "shop"
    assert load_allowlist().contexts == ("kind-shop",)
    (elsewhere / "guard.yaml").write_text("contexts: [kind-here]\n")  # the current directory's first
    assert load_allowlist().contexts == ("kind-here",)


def test_without_any_guard_file_only_the_suites_own_cluster_is_allowed(elsewhere):
    assert load_allowlist().contexts == ("kind-gameday",)
