"""The suite as a new user gets it: the wheel `python -m build` makes, installed into a clean
virtualenv, run from a directory of the user's own (no repository, no GAMEDAY_* set)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.kube import CONTEXT

REPO = Path(__file__).resolve().parents[1]
# a stack this project did not write, deployed as its user would (make deploy-podinfo)
PODINFO = "podinfo"


def install_from_wheel(where: Path) -> Path:
    """Builds the wheel, installs it into where/venv; the path of its `gameday` command."""
    dist, venv = where / "dist", where / "venv"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    [wheel] = dist.glob("kube_gameday-*.whl")
    # the interpreter the suite's own venv was made from: not the suite's venv itself
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=900)
    return venv / "bin" / "gameday"


def as_new_user(gameday: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`gameday ARGS` in cwd, with none of the suite's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_")}
    return subprocess.run([str(gameday), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def podinfo_user(tmp_path_factory) -> tuple[Path, Path, str]:
    """(the installed `gameday`, the user's folder, what `gameday init podinfo` said): the stack
    file init wrote is that folder's stack.yaml, as README's "Test your own stack" leaves it."""
    gameday = install_from_wheel(tmp_path_factory.mktemp("install"))
    home = tmp_path_factory.mktemp("user")
    out = as_new_user(gameday, home, "init", PODINFO, "--context", CONTEXT)
    assert out.returncode == 0, out.stderr
    return gameday, home, out.stdout
