"""Chaos Toolkit control: load and readiness sampling around an experiment, so that
`chaos run experiments/X.yaml` alone is a game day under load.

    controls:
      - name: load-and-readiness
        provider:
          type: python
          module: gameday.controls
          arguments: {profile: loadtests/profiles/steady.yaml, warmup_s: 20, settle_s: 0}

Before the experiment: with settle_s, waits (up to settle_s) until every HPA of the stack runs its
minimum replicas; then starts the readiness sampler and Locust (loadtests.runner), each in its own
process, against the stack of $GAMEDAY_STACK (default stack.yaml) with the profile named here (or
$GAMEDAY_LOAD_PROFILE, which `gameday run --load` sets), then lets the load warm up so
the steady-state probes have traffic to judge. After it (and on a crash, at cleanup): stops both
gracefully, so Locust still writes its numbers. Artifacts go to $GAMEDAY_RUN_DIR (default
runs/<UTC>-chaos/).
"""

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from chaoslib.exceptions import InterruptExecution

from edge.kube import IN_CLUSTER, autoscaling_api
from edge.poll import poll
from edge.processes import python_module, spawn
from edge.rundir import new_run_dir
from edge.stack import load_stack
from gameday.run import REPO

log = logging.getLogger("chaostoolkit")
LOAD_CEILING_S = 3600  # the load runs until the experiment ends; this only bounds a lost process
_children: dict[str, subprocess.Popen] = {}  # by name, in the order started


def run_dir() -> Path:
    path = os.environ.get("GAMEDAY_RUN_DIR")
    if not path:
        path = new_run_dir("chaos")
        os.environ["GAMEDAY_RUN_DIR"] = str(path)  # the same directory for the rest of the run
    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


def _start(name: str, args: list[str], out: Path) -> subprocess.Popen:
    # same process group: a Ctrl-C on the terminal stops the load and the sampler too (both stop
    # gracefully on SIGINT), so none outlives an interrupted game day
    proc = spawn(python_module(*args), cwd=REPO, stdout=open(out / f"{name}.out", "w"), stderr=subprocess.STDOUT)
    _children[name] = proc
    return proc


def _stop(proc: subprocess.Popen, timeout_s: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _interrupt(message: str) -> None:
    """Stops the experiment before its method: a control's other exceptions are only logged by
    chaoslib at debug level, and the run would go on without load or samples."""
    log.error("kube-gameday: %s", message)
    raise InterruptExecution(message)


def settle(stack, timeout_s: float) -> None:
    """Waits until every HPA of the stack runs its minimum replicas: a game day about scaling
    starts from rest, not from what the previous one left."""
    hpas = autoscaling_api(stack.kube_context)

    def check():
        busy = {}
        for name in stack.hpas:
            hpa = hpas.read_namespaced_horizontal_pod_autoscaler(name, stack.namespace)
            if (hpa.status.current_replicas or 0) != (hpa.spec.min_replicas or 1):
                busy[name] = f"{hpa.status.current_replicas} (min {hpa.spec.min_replicas})"
        return not busy, ", ".join(f"{k} at {v}" for k, v in busy.items())
    settled, busy, _ = poll(check, timeout_s, "the HPAs to settle at their minimum", poll_s=5)
    if not settled:
        _interrupt(f"the stack did not settle in {timeout_s:.0f} s: {busy}")


def before_experiment_control(context: dict, profile: str = "loadtests/profiles/steady.yaml",
                              warmup_s: float = 20, settle_s: float = 0, **_) -> None:
    stack = load_stack()
    if settle_s:
        settle(stack, settle_s)
    profile = os.environ.get("GAMEDAY_LOAD_PROFILE") or profile  # `gameday run --load` overrides
    # an experiment activity of chaostoolkit-kubernetes reads its context from here: the stack's, never the
    # kubeconfig's current one
    os.environ["KUBERNETES_CONTEXT"] = stack.kube_context
    out = run_dir()
    log.info("kube-gameday: artifacts in %s; load %s at %s", out, profile, stack.entry_url)
    _start("sampler", ["gameday.sampler", "--out", str(out / "readiness.jsonl"), "--stack", str(stack.source)], out)
    # from a pod of the cluster (deploy/runner) the entry is a Service of the stack's namespace
    in_cluster = ["--cluster-namespace", stack.namespace] if stack.kube_context == IN_CLUSTER else []
    _start("load", ["loadtests.runner", "--host", stack.entry_url, "--profile", str(REPO / profile),
                    "--duration", str(LOAD_CEILING_S), "--out", str(out / "load"), *in_cluster], out)
    log.info("warming up the load for %.0f s", warmup_s)
    deadline = time.monotonic() + warmup_s
    while time.monotonic() < deadline:
        for name, proc in _children.items():
            if proc.poll() is not None:
                _interrupt(f"{name} exited early ({proc.returncode}); see {out}")
        time.sleep(1)


def after_experiment_control(context: dict, **_) -> None:
    cleanup_control()


def cleanup_control() -> None:
    while _children:
        _stop(_children.popitem()[1])  # the load first (last started), then the sampler
