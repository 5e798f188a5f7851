"""Where the suite finds its files, installed (pip install of the wheel) or run from its
repository: the user's own folders first, then what the suite bundles.

- experiments: `--experiments DIR`, then $GAMEDAY_HOME/experiments, then the bundled ones
- load profiles: $GAMEDAY_HOME/profiles, then the bundled ones
- the stack file: --stack, $GAMEDAY_STACK, ./stack.yaml, $GAMEDAY_HOME/stack.yaml
- the guard's allowlist: $GAMEDAY_GUARD, ./guard.yaml, $GAMEDAY_HOME/guard.yaml, else the
  suite's own kind cluster only
- runs: $GAMEDAY_RUNS, else ./runs of the current directory
"""

import os
from pathlib import Path

# the folder holding the suite's packages: the repository, or site-packages once installed
SUITE_ROOT = Path(__file__).resolve().parents[1]
# in the wheel the experiments are package data of gameday (pyproject.toml: package-dir)
_INSTALLED_EXPERIMENTS = SUITE_ROOT / "gameday" / "bundled" / "experiments"
BUNDLED_EXPERIMENTS = _INSTALLED_EXPERIMENTS if _INSTALLED_EXPERIMENTS.is_dir() else SUITE_ROOT / "experiments"
BUNDLED_PROFILES = SUITE_ROOT / "loadtests" / "profiles"


def home() -> Path | None:
    """$GAMEDAY_HOME: the user's folder of experiments/, profiles/, stack.yaml, guard.yaml."""
    value = os.environ.get("GAMEDAY_HOME")
    return Path(value).expanduser() if value else None


def experiment_folders(first: Path | None = None) -> list[Path]:
    """Where an experiment name is looked up, in order."""
    mine = [first] if first else []
    return mine + ([home() / "experiments"] if home() else []) + [BUNDLED_EXPERIMENTS]


def profile_folders() -> list[Path]:
    """Where a load profile name is looked up, in order."""
    return ([home() / "profiles"] if home() else []) + [BUNDLED_PROFILES]


def find(name: str, folders: list[Path], what: str) -> Path:
    """A path as given (absolute, or relative to the current directory), else NAME or NAME.yaml
    in the first folder that has it; FileNotFoundError naming every place looked in."""
    for candidate in [Path(name)] + [f / n for f in folders for n in (name, f"{name}.yaml")]:
        if candidate.is_file():
            return candidate.resolve()
    raise FileNotFoundError(f"{what} {name!r}: no such file, nor {name}.yaml in "
                            + ", ".join(str(f) for f in folders))


def find_profile(name: str) -> Path:
    """A load profile by path or name; an old-style bundled path (loadtests/profiles/x.yaml) by its name."""
    try:
        return find(name, profile_folders(), "load profile")
    except FileNotFoundError:
        if Path(name).stem != name:
            return find(Path(name).stem, profile_folders(), "load profile")
        raise


def first_existing(*candidates: Path | None) -> Path | None:
    return next((c for c in candidates if c is not None and c.is_file()), None)


def default_stack() -> Path:
    """$GAMEDAY_STACK, else ./stack.yaml, else $GAMEDAY_HOME/stack.yaml (named, even if missing:
    the error then says where a stack file was expected)."""
    if os.environ.get("GAMEDAY_STACK"):
        return Path(os.environ["GAMEDAY_STACK"])
    return first_existing(Path("stack.yaml"), home() / "stack.yaml" if home() else None) or Path("stack.yaml")


def default_guard() -> Path | None:
    """$GAMEDAY_GUARD, else ./guard.yaml, else $GAMEDAY_HOME/guard.yaml; None: no allowlist file."""
    if os.environ.get("GAMEDAY_GUARD"):
        return Path(os.environ["GAMEDAY_GUARD"])
    return first_existing(Path("guard.yaml"), home() / "guard.yaml" if home() else None)


def runs_root() -> Path:
    """$GAMEDAY_RUNS, else runs/ of the current directory (the in-cluster runner's tree is
    read-only: its GAMEDAY_RUNS is a volume)."""
    return Path(os.environ.get("GAMEDAY_RUNS") or Path.cwd() / "runs")
