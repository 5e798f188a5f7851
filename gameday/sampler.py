"""Samples the stack's readiness at 1 s or finer, in a process of its own, for the verdicts that a
15 s scrape would miss (a PDB dipping for 3 s, the exact second replicas came back).

A watch on the namespace's pods keeps their readiness; every change, and every second anyway,
writes one line per Deployment and per PDB of stack.yaml:

    {"t": 1763758800.25, "kind": "deployment", "name": "core-api", "ready": 2, "desired": 3}
    {"t": 1763758800.25, "kind": "pdb", "name": "agents", "ready": 3, "min_available": 3}

and, for each group of pods the stack says elect a leader (stack.yaml `elected`), one line per
pod with its role label ("" when it has none), whether that says leader, whether it is ready,
and its IP (what a database names itself by to a client: failover_time tells members by it):

    {"t": 1763758800.25, "kind": "role", "name": "postgres/postgres-0", "role": "master", "leader": true,
     "ready": true, "ip": "10.244.1.8"}

    python -m gameday.sampler --out runs/x/readiness.jsonl [--stack stack.yaml]

Stops on SIGINT/SIGTERM. Lines are flushed as written, so a crash loses nothing already seen.
"""

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from edge.kube import PodSeen, api_client, matches, min_available, pod_seen, ready_selected
from edge.stack import Stack, StackError, load_stack

TICK_S = 1.0
MIN_GAP_S = 0.2  # a burst of pod events makes at most 5 lines a second


class Sampler:
    def __init__(self, stack: Stack, out: Path):
        api = api_client(stack.kube_context)  # its calls time out: a frozen API server costs samples, not the run
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.policy = client.PolicyV1Api(api)
        self.stack, self.out = stack, out
        self.pods: dict[str, PodSeen] = {}
        self.watching = False
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.stopping = threading.Event()

    def watch_pods(self) -> None:
        """Keeps self.pods current; while the API cannot be watched, no line is written (a gap in
        the samples is honest, stale readiness would not be)."""
        ns = self.stack.namespace
        while not self.stopping.is_set():
            try:
                pods = self.core.list_namespaced_pod(ns)
                with self.lock:
                    self.pods = {p.metadata.name: pod_seen(p) for p in pods.items}
                    self.watching = True
                self.changed.set()
                # the server ends the watch after 60 s; a read timeout past that catches one that froze
                for event in watch.Watch().stream(self.core.list_namespaced_pod, ns, timeout_seconds=60,
                                                  resource_version=pods.metadata.resource_version,
                                                  _request_timeout=(5, 90)):
                    pod = event["object"]
                    with self.lock:
                        if event["type"] == "DELETED":
                            self.pods.pop(pod.metadata.name, None)
                        else:
                            self.pods[pod.metadata.name] = pod_seen(pod)
                    self.changed.set()
                    if self.stopping.is_set():
                        return
            except (ApiException, OSError, urllib3.exceptions.HTTPError) as err:
                if not (isinstance(err, ApiException) and err.status == 410):  # 410: list again
                    with self.lock:
                        self.watching = False
                    print(f"sampler: {time.strftime('%H:%M:%S')} pod watch failed, retrying: {err}",
                          file=sys.stderr, flush=True)
                    self.stopping.wait(1)

    def lines(self, now: float) -> list[dict]:
        with self.lock:
            if not self.watching:
                return []
            named = dict(self.pods)
        pods = list(named.values())
        ns = self.stack.namespace
        deployments = {d.metadata.name: d for d in self.apps.list_namespaced_deployment(ns).items}
        pdbs = {p.metadata.name: p for p in self.policy.list_namespaced_pod_disruption_budget(ns).items}
        rows = []  # a missing object is a line with nulls: "gone" is data too
        for name in self.stack.deployments:
            d = deployments.get(name)
            rows.append({"t": now, "kind": "deployment", "name": name,
                         "ready": ready_selected(d, pods) if d else None, "desired": d.spec.replicas if d else None})
        for name in self.stack.pdbs:
            p = pdbs.get(name)
            expected = (p.status.expected_pods or 0) if p and p.status else 0
            rows.append({"t": now, "kind": "pdb", "name": name, "ready": ready_selected(p, pods) if p else None,
                         "min_available": min_available(p, expected) if p else None})
        for group, elected in self.stack.elected.items():
            wanted = elected.match_labels
            rows += [{"t": now, "kind": "role", "name": f"{group}/{name}", "role": pod.labels.get(elected.label, ""),
                      "leader": pod.labels.get(elected.label) == elected.leader, "ready": pod.ready, "ip": pod.ip}
                     for name, pod in sorted(named.items())
                     if matches(pod.labels, wanted)]
        return rows

    def run(self) -> None:
        watcher = threading.Thread(target=self.watch_pods, daemon=True)
        watcher.start()
        with self.out.open("a") as f:
            while not self.stopping.is_set():
                self.changed.wait(TICK_S)
                self.changed.clear()
                try:
                    rows = self.lines(time.time())
                except (ApiException, OSError, urllib3.exceptions.HTTPError) as err:
                    # an API hiccup costs a sample, not the run's record: say so and go on
                    print(f"sampler: {time.strftime('%H:%M:%S')} no sample: {err}", file=sys.stderr, flush=True)
                    rows = []
                for row in rows:
                    f.write(json.dumps(row) + "\n")
                f.flush()
                time.sleep(MIN_GAP_S)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gameday.sampler", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="JSON lines file to append to")
    p.add_argument("--stack", help="stack file (default: $GAMEDAY_STACK, else stack.yaml)")
    args = p.parse_args(argv)
    try:
        stack = load_stack(args.stack)
    except StackError as err:
        print(f"sampler: {err}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        sampler = Sampler(stack, args.out)
    except config.ConfigException as err:
        print(f"sampler: kube context {stack.kube_context!r} ({stack.source}: kube_context): {err}", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sampler.stopping.set())
    sampler.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
