"""The suite as a new user gets it: the wheel `python -m build` makes, installed into a clean
virtualenv, run from a directory of the user's own (no repository, no GAMEDAY_* set)."""

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
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


@contextmanager
def podinfo_deployed(meanwhile=lambda: None):
    """podinfo on the cluster while the caller runs, then its namespace deleted: its pods share the
    workers with the seed stack, and the guard refuses the seed's node game days while they do.
    meanwhile() runs here while the deploy waits on the cluster; what it returns is yielded."""
    deploy = subprocess.Popen([str(REPO / "examples" / "podinfo" / "deploy.sh")], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        made = meanwhile()
        out, _ = deploy.communicate(timeout=900)
        assert deploy.returncode == 0, out[-3000:]
        yield made
    finally:
        if deploy.poll() is None:
            deploy.kill()
        subprocess.run(["kubectl", "--context", CONTEXT, "delete", "namespace", PODINFO, "--wait=true",
                        "--timeout=180s", "--ignore-not-found"], check=True, capture_output=True, timeout=240)


def podinfo_user(tmp_path_factory):
    """(the installed `gameday`, the user's folder, what `gameday init podinfo` said), podinfo
    deployed meanwhile: the stack file init wrote is that folder's stack.yaml, as README's "Test
    your own stack" leaves it."""
    with podinfo_deployed(lambda: install_from_wheel(tmp_path_factory.mktemp("install"))) as gameday:
        home = tmp_path_factory.mktemp("user")
        out = as_new_user(gameday, home, "init", PODINFO, "--context", CONTEXT)
        assert out.returncode == 0, out.stderr
        use_own_traffic(home)
        yield gameday, home, out.stdout


def use_own_traffic(home: Path) -> None:
    """What the user does next: names podinfo's own locustfile in the stack file init wrote, in
    place of the generic GETs (too few to cross podinfo's HPA target), and keeps its surge."""
    for name in ("locustfile.py", "surge.yaml"):   # its traffic, and the load profile of its surge
        shutil.copy(REPO / "examples" / "podinfo" / name, home / name)
    stack = home / "stack.yaml"
    text = stack.read_text()
    assert "load:\n  paths: [/]\n" in text, text
    stack.write_text(text.replace("load:\n  paths: [/]\n", "load:\n  locustfile: locustfile.py\n"))
