"""Runs Locust in a process of its own (importing locust patches gevent into the importer) and
judges its numbers. Writes into OUT: profile.json, timeline.jsonl (1 s per endpoint), ledger.jsonl (with
writers: every order placed and what became of it), Locust's CSV stats and stats history,
locust.log, verdicts.json.

    python -m loadtests.runner --host http://127.0.0.1:30080 --profile loadtests/profiles/step.yaml \
        --locustfile loadtests/locustfile.py --out runs/x/load
    python -m loadtests.runner --host http://127.0.0.1:8080 --shape steady --users 20 --duration 60 \
        --path / --path /api/info --out /tmp/load

Exit code: 0 every threshold passed, 1 one failed, 2 one was inconclusive, 3 the run itself failed.
Ctrl-C / SIGTERM stop the load gracefully and still judge what was measured.
"""

import argparse
import dataclasses
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from core.generators import generator_warning, generators
from core.load_stats import judge_thresholds
from core.verdict import FAIL, INCONCLUSIVE, Window, inconclusive
from edge.processes import interruptible, python_module, spawn
from edge.rundir import load_generators, load_timeline
from loadtests.profile import Profile, ProfileError, load_profile, validated
from loadtests.workers import WorkerError, WorkerPods, WorkerProcesses, master_options

# the traffic when none is named: GETs over --path (a stack's load.paths); the harness records the
# timeline and follows the profile beside any locustfile
GENERIC_LOCUSTFILE = Path(__file__).with_name("generic_locustfile.py")
HARNESS = Path(__file__).with_name("harness.py")
EXIT = {"pass": 0, FAIL: 1, INCONCLUSIVE: 2, "error": 3}


class LoadError(Exception):
    pass


LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SERVICE = re.compile(rf"{LABEL}\.(?P<namespace>{LABEL})\.svc(\.cluster\.local)?")


def load_target(url: str, cluster_namespace: str = "") -> str:
    """Load goes to this machine only: the stack's NodePort on 127.0.0.1, a local service, or, from a
    pod inside the cluster under test (cluster_namespace: the stack's), a Service of that namespace."""
    host = urlparse(url).hostname
    if not host:
        raise LoadError(f"--host {url!r}: not a URL like http://127.0.0.1:30080")
    if re.search(r"\.svc(\.cluster\.local)?$", host):  # a cluster Service name: judged by name, never looked up
        service = SERVICE.fullmatch(host)
        if cluster_namespace and service and service["namespace"] == cluster_namespace:
            return url
        raise LoadError(f"--host {url!r}: load goes to a cluster Service only from a pod of that cluster, and only "
                        f"to the stack's own namespace (here: {cluster_namespace or 'not running in a cluster'})")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as err:
        raise LoadError(f"--host {url!r}: cannot resolve {host}: {err}") from err
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise LoadError(f"--host {url!r} resolves to {sorted(addresses)}: load goes to loopback only "
                        "(the kind port mapping or a local service)")
    return url


def build_profile(args) -> Profile:
    profile = load_profile(args.profile) if args.profile else validated(Profile(source="command line"))
    return profile.with_overrides(shape=args.shape, users=args.users, spawn_rate=args.spawn_rate,
                                  duration_s=args.duration, step_users=args.step_users, step_s=args.step_s,
                                  steps=args.steps, spike_users=args.spike_users, writers=args.writers, workers=args.workers,
                                  thresholds=tuple(args.threshold) if args.threshold else None)


def progress(timeline: Path, started: float, total_s: float) -> str:
    """One line from the last complete second of the timeline."""
    last_t, requests, failures = None, 0, 0
    if timeline.exists():
        lines = timeline.read_text().splitlines()[-50:]
        rows = [json.loads(l) for l in lines if l.strip().endswith("}")]
        if rows:
            last_t = max(r["t"] for r in rows)
            requests = sum(r["requests"] for r in rows if r["t"] == last_t)
            failures = sum(r["failures"] for r in rows if r["t"] == last_t)
    elapsed = time.time() - started
    return (f"[load] {elapsed:5.0f}/{total_s:.0f} s  {requests:4d} req/s  {failures:3d} fail/s"
            if last_t else f"[load] {elapsed:5.0f}/{total_s:.0f} s  waiting for the first requests")


def run_locust(host: str, profile: Profile, out: Path, locustfile: Path = GENERIC_LOCUSTFILE,
               paths: tuple[str, ...] = (), cluster_namespace: str = "") -> int:
    """Locust against host until the profile ends or this process is told to stop: one process,
    or (profile.workers) a master and that many workers, all connected before the shape starts."""
    out.mkdir(parents=True, exist_ok=True)
    timeline = out / "timeline.jsonl"
    for artifact in (timeline, out / "generators.jsonl"):
        artifact.unlink(missing_ok=True)
    spec = {k: v for k, v in dataclasses.asdict(profile).items() if k != "source"}
    (out / "profile.json").write_text(json.dumps({**spec, "source": profile.source, "host": host,
                                                  "locustfile": str(locustfile)}, indent=2))
    files = f"{locustfile},{HARNESS}"
    cmd = python_module("locust", "-f", files, "--headless", "--host", host,
                        "--csv", str(out / "locust"), "--csv-full-history", "--only-summary",
                        "--loglevel", "WARNING", "--logfile", str(out / "locust.log"), "--stop-timeout", "5")
    env = {**os.environ, "GAMEDAY_PROFILE": json.dumps(spec), "GAMEDAY_TIMELINE": str(timeline),
           "GAMEDAY_GENERATORS": str(out / "generators.jsonl"), "GAMEDAY_LEDGER": str(out / "ledger.jsonl"),
           **({"GAMEDAY_PATHS": json.dumps(paths)} if paths else {})}
    workers = None
    if profile.workers:  # started first: a worker waits for its master, the master's shape for all workers
        workers = (WorkerPods(profile.workers, out, env) if cluster_namespace
                   else WorkerProcesses(profile.workers, files, out, env))
        cmd += master_options(workers)
        try:
            workers.start()
        except WorkerError:
            workers.stop()
            raise
        print(f"[load] {profile.workers} Locust workers started ({workers.where}); the shape starts once all are "
              f"connected (up to {workers.connect_s} s)", flush=True)
    started = time.time()
    with open(out / "locust.stdout", "w") as stdout:
        proc = spawn(cmd, stdout=stdout, stderr=subprocess.STDOUT, env=env)  # gone if this runner dies

    def stop(signum, _frame):
        print(f"[load] {signal.Signals(signum).name}: stopping the load, keeping what was measured", flush=True)
        # SIGINT, not SIGTERM: with a shape class Locust 2.47 installs its SIGTERM handler only
        # once the shape has ended, so a TERM kills it before its last CSV flush (up to 5 s of
        # stats history lost, a hole in the load's evidence); an INT quits it cleanly
        proc.send_signal(signal.SIGINT)
    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while proc.poll() is None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                print(progress(timeline, started, profile.total_s) + (workers.news() if workers else ""), flush=True)
        return proc.returncode
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            proc.kill()
        if workers:
            workers.stop()  # the master told them to quit; this is for any that did not


def judge(out: Path, profile: Profile) -> list:
    timeline = out / "timeline.jsonl"
    frame = load_timeline(timeline) if timeline.exists() else None
    if frame is None or frame.empty:
        return [inconclusive("slo_client", ", ".join(profile.thresholds), "Locust recorded no request")]
    window = Window.from_epoch(float(frame.t.min()), float(frame.t.max()) + 1)
    return judge_thresholds(frame, profile.thresholds, window)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.runner", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", required=True, help="base URL, on loopback (e.g. http://127.0.0.1:30080)")
    p.add_argument("--cluster-namespace", default="", metavar="NS",
                   help="running in a pod of the cluster under test: --host may be a Service of NS (NAME.NS.svc)")
    p.add_argument("--out", required=True, type=Path, help="directory for the run's load artifacts")
    p.add_argument("--profile", help="profile file (loadtests/profiles/*.yaml)")
    p.add_argument("--locustfile", type=Path, default=GENERIC_LOCUSTFILE,
                   help="the traffic (default: GETs spread over --path)")
    p.add_argument("--path", action="append", default=[], help="a path the generic locustfile GETs (repeatable; default /)")
    p.add_argument("--shape", help="steady | step | spike | soak")
    p.add_argument("--users", type=int)
    p.add_argument("--spawn-rate", type=float)
    p.add_argument("--duration", type=float, help="seconds (steady, soak)")
    p.add_argument("--step-users", type=int)
    p.add_argument("--step-s", type=float)
    p.add_argument("--steps", type=int)
    p.add_argument("--spike-users", type=int)
    p.add_argument("--writers", type=int, help="of the users, how many place orders (the write ledger: ledger.jsonl)")
    p.add_argument("--workers", type=int, help="Locust workers under one master (0: one process); processes here, "
                   "pods with --cluster-namespace")
    p.add_argument("--threshold", action="append", help="e.g. 'p95 < 1s' (repeatable; replaces the profile's)")
    args = p.parse_args(argv)
    interruptible()
    try:
        host = load_target(args.host, args.cluster_namespace)
        profile = build_profile(args)
    except (LoadError, ProfileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT["error"]
    print(f"[load] {profile.shape} load at {host} for {profile.total_s:.0f} s ({profile.source}) -> {args.out}",
          flush=True)
    if not args.locustfile.is_file():
        print(f"error: --locustfile {args.locustfile}: no such file", file=sys.stderr)
        return EXIT["error"]
    try:
        code = run_locust(host, profile, args.out, args.locustfile.resolve(), tuple(args.path), args.cluster_namespace)
    except WorkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT["error"]
    verdicts = judge(args.out, profile)
    (args.out / "verdicts.json").write_text(json.dumps([v.to_dict() for v in verdicts], indent=2))
    for v in verdicts:
        print(f"[load] {v.status:12s} {v.name:24s} expected {v.expected:18s} observed {v.observed}"
              + (f" ({v.reason})" if v.reason else ""))
    if (args.out / "generators.jsonl").exists() and (warning := generator_warning(generators(load_generators(
            args.out / "generators.jsonl")))):
        print(f"[load] {warning}")
    if code not in (0, 1):  # Locust exits 1 when requests failed: the thresholds judge that
        print(f"[load] locust exited {code}: see {args.out / 'locust.log'}", file=sys.stderr)
        return EXIT["error"]
    statuses = {v.status for v in verdicts}
    return EXIT[FAIL] if FAIL in statuses else EXIT[INCONCLUSIVE] if INCONCLUSIVE in statuses else 0


if __name__ == "__main__":
    sys.exit(main())
