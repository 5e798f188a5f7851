"""Chaos Toolkit control: load and readiness sampling around an experiment, so that
`chaos run experiments/X.yaml` alone is a game day under load.

    controls:
      - name: load-and-readiness
        provider:
          type: python
          module: gameday.controls
          arguments: {profile: steady, warmup_s: 20, settle_s: 0}

Before the experiment: with settle_s, waits (up to settle_s) until every HPA of the stack is at
rest (its minimum, or above it with nothing pending: probes.hpa.at_rest); then starts the
readiness sampler and Locust (loadtests.runner), each in its own process, against the stack of
$GAMEDAY_STACK (default stack.yaml) with the profile named here (a name, looked up in
$GAMEDAY_HOME/profiles then the bundled ones, or a path; $GAMEDAY_LOAD_PROFILE, which
`gameday run --load` sets, replaces it; $GAMEDAY_LOAD_WORKERS, from `gameday run --workers`, or
the stack's load.workers, replace its Locust workers), and, if the experiment declares guardrails,
their watcher (gameday.guardrails: it halts the experiment when one is crossed); then lets the load
warm up so the steady-state probes have traffic to judge. With `profile: none` (a game day on
simulated nodes, whose pods serve nothing) only the sampler and the events. After it (and on a crash, at cleanup):
stops them gracefully, so Locust still writes its numbers, and, when the load had writers, reads
back which of their orders the stack holds (load/readback.json). Artifacts go to $GAMEDAY_RUN_DIR (default
runs/<UTC>-chaos/).

Throughout, it writes events.jsonl (edge.rundir.append_event): the warm-up, the steady-state
hypotheses, the method, each activity started and ended (with its part, function, status and
times), the rollbacks started and ended. The live progress line and the runner's interrupt
handling read those, not Chaos Toolkit's log.
"""

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from chaoslib.exceptions import InterruptExecution
from kubernetes import client

from edge.kube import IN_CLUSTER, autoscaling_api
from edge.orders import read_back
from edge.poll import poll
from edge.processes import python_module, spawn
from edge.home import find_profile
from edge.rundir import RunDir, append_event, new_run_dir
from edge.stack import load_stack
from gameday.experiment import ExperimentError, guardrails_of
from loadtests.workers import CONNECT_S
from probes.hpa import at_rest

log = logging.getLogger("chaostoolkit")
LOAD_CEILING_S = 3600  # the load runs until the experiment ends; this only bounds a lost process
READ_BACK_DEADLINE_S = 120  # a database still failing over when the run ends is waited for this long
NO_LOAD = "none"  # the profile of a game day without load
LOAD_START_S = CONNECT_S["pods"] + 30  # the slowest a load may take to record its first second: its workers' connect
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
    proc = spawn(python_module(*args), stdout=open(out / f"{name}.out", "w"), stderr=subprocess.STDOUT)
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
    """Waits until every HPA of the stack is at rest (probes.hpa.at_rest: at its minimum, or held
    above it by memory with nothing pending): a game day about scaling starts from rest, not from
    what the previous one left."""
    hpas, plain = autoscaling_api(stack.kube_context), client.ApiClient().sanitize_for_serialization

    def check():
        busy = {name: why for name in stack.hpas
                if (why := at_rest(plain(hpas.read_namespaced_horizontal_pod_autoscaler(name, stack.namespace))))}
        return not busy, ", ".join(f"{k} at {v}" for k, v in busy.items())
    settled, busy, _ = poll(check, timeout_s, "the HPAs to come to rest", poll_s=5)
    if not settled:
        _interrupt(f"the stack did not settle in {timeout_s:.0f} s: {busy}")


def before_experiment_control(context: dict, profile: str = "steady", warmup_s: float = 20, settle_s: float = 0,
                              configuration: dict | None = None, **_) -> None:
    stack = load_stack()
    try:
        guardrails = [g.expr for g in guardrails_of(context, f"experiment {context.get('title')!r}", stack.deployments,
                                                    configuration)]
    except ExperimentError as err:  # a guardrail that cannot be watched must not let the faults run unwatched
        _interrupt(str(err))
    if settle_s:  # the progress line says so: a settle can take minutes before any load
        append_event(run_dir(), "settling", seconds=settle_s, hpas=list(stack.hpas))
        settle(stack, settle_s)
    out = run_dir()
    _start("sampler", ["gameday.sampler", "--out", str(out / "readiness.jsonl"), "--stack", str(stack.source)], out)
    if profile == NO_LOAD and not os.environ.get("GAMEDAY_LOAD_PROFILE"):
        log.info("kube-gameday: artifacts in %s; no load (profile: none)", out)
        return
    try:  # `gameday run --load` overrides; a name is looked up in the user's profiles, then the bundled
        profile = find_profile(os.environ.get("GAMEDAY_LOAD_PROFILE") or profile)
    except FileNotFoundError as err:
        _interrupt(str(err))
    # an experiment activity of chaostoolkit-kubernetes reads its context from here: the stack's, never the
    # kubeconfig's current one
    os.environ["KUBERNETES_CONTEXT"] = stack.kube_context
    log.info("kube-gameday: artifacts in %s; load %s at %s", out, profile, stack.entry_url)
    # from a pod of the cluster (deploy/runner) the entry is a Service of the stack's namespace
    in_cluster = ["--cluster-namespace", stack.namespace] if stack.kube_context == IN_CLUSTER else []
    traffic = ["--locustfile", str(stack.locustfile)] if stack.locustfile else \
        [arg for path in stack.paths for arg in ("--path", path)]
    # `gameday run --workers` over the stack's load.workers over the profile's own
    workers = os.environ.get("GAMEDAY_LOAD_WORKERS") or stack.load_workers
    traffic += ["--workers", str(workers)] if workers is not None else []
    _start("load", ["loadtests.runner", "--host", stack.entry_url, "--profile", str(profile), *traffic,
                    "--duration", str(LOAD_CEILING_S), "--out", str(out / "load"), *in_cluster], out)
    if guardrails:  # halts this process (SIGINT, the graceful stop) when one is crossed
        _start("guardrails", ["gameday.guardrails", "--run-dir", str(out), "--stack", str(stack.source),
                              "--chaos-pid", str(os.getpid()), *guardrails], out)
    wait_for_the_load(out, int(workers or 0))
    log.info("warming up the load for %.0f s", warmup_s)
    append_event(out, "warm-up", seconds=warmup_s)
    deadline = time.monotonic() + warmup_s
    while time.monotonic() < deadline:
        _children_alive(out)
        time.sleep(1)


def _children_alive(out: Path) -> None:
    for name, proc in _children.items():
        if proc.poll() is not None:
            _interrupt(f"{name} exited early ({proc.returncode}); see {out}")


def wait_for_the_load(out: Path, workers: int) -> None:
    """Until the load's first second is on record: the warm-up is load, not waiting. A Locust
    master starts no user before every worker has connected, and a worker pod may first wait for
    its node to start it (with too few steady-state seconds under load, the hypothesis fails)."""
    if workers:
        append_event(out, "load-starting", workers=workers)
    timeline, deadline = out / "load" / "timeline.jsonl", time.monotonic() + LOAD_START_S
    while not (timeline.exists() and timeline.stat().st_size):
        _children_alive(out)
        if time.monotonic() > deadline:
            _interrupt(f"the load recorded nothing in {LOAD_START_S} s (its log: {out / 'load'})")
        time.sleep(0.5)


def after_experiment_control(context: dict, state: dict | None = None, **_) -> None:
    append_event(run_dir(), "experiment-ended", status=(state or {}).get("status"))
    cleanup_control()
    read_back_the_writes(run_dir())


def read_back_the_writes(out: Path, deadline_s: float = READ_BACK_DEADLINE_S) -> None:
    """With writers, once they have stopped: which of their orders the stack holds now, what the
    durability verdicts judge the ledger against: all of them in the database (load/readback.json),
    those the cache took in the cache (load/readback-cache.json)."""
    ledger = RunDir(out).ledger
    if ledger is None:
        return
    for route, ids, file in (("found", ledger.id, "readback.json"), ("cached", ledger.id[ledger.cached], "readback-cache.json")):
        log.info("kube-gameday: reading back the %d orders the writers placed (/api/orders/%s)", len(ids), route)
        append_event(out, "read-back-started", orders=len(ids), route=route)
        got = read_back(load_stack().entry_url, ids.tolist(), deadline_s, route)
        record = {"found": None if got.found is None else sorted(got.found), "at": got.at, "error": got.error,
                  "source": got.source}
        (out / "load" / file).write_text(json.dumps(record))
        append_event(out, "read-back-ended", found=None if got.found is None else len(got.found), error=got.error,
                     route=route)


# ---- events: what the experiment is doing, as it does it ----

_part = ["steady-state"]  # the part of the experiment the next activity belongs to


def _enter(part: str) -> None:
    _part[0] = part
    append_event(run_dir(), f"{part}-started")


def before_hypothesis_control(context: dict, **_) -> None:
    _enter("steady-state")


def after_hypothesis_control(context: dict, state: dict | None = None, **_) -> None:
    append_event(run_dir(), "steady-state-ended", met=(state or {}).get("steady_state_met"))


def before_method_control(context: dict, **_) -> None:
    _enter("method")


def after_method_control(context: dict, **_) -> None:
    append_event(run_dir(), "method-ended")


def before_rollback_control(context: dict, **_) -> None:
    _enter("rollbacks")


def after_rollback_control(context: dict, **_) -> None:
    append_event(run_dir(), "rollbacks-ended")


def _activity(context: dict) -> dict:
    return {"part": _part[0], "name": context.get("name"), "type": context.get("type"),
            "func": (context.get("provider") or {}).get("func")}


def before_activity_control(context: dict, **_) -> None:
    append_event(run_dir(), "activity-started", **_activity(context))


def after_activity_control(context: dict, state: dict | None = None, **_) -> None:
    state = state or {}
    append_event(run_dir(), "activity-ended", **_activity(context), status=state.get("status"),
                 start=state.get("start"), end=state.get("end"))


def cleanup_control() -> None:
    while _children:
        _stop(_children.popitem()[1])  # the load first (last started), then the sampler
