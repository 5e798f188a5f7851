"""Samples the stack's readiness at 1 s or finer, in a process of its own, for the verdicts that a
15 s scrape would miss (a PDB dipping for 3 s, the exact second replicas came back).

Watches of the namespace's pods, Deployments and PodDisruptionBudgets keep what it needs of each
(read as the API's JSON, never as the client's objects: ten thousand pods cost one dict each); every
change, and every second anyway, writes one line per Deployment and per PDB of stack.yaml:

    {"t": 1763758800.25, "kind": "deployment", "name": "core-api", "ready": 2, "desired": 3}
    {"t": 1763758800.25, "kind": "pdb", "name": "agents", "ready": 3, "min_available": 3}

and, for each group of pods the stack says elect a leader (stack.yaml `elected`), one line per
pod with its role label ("" when it has none), whether that says leader, whether it is ready,
and its IP (what a database names itself by to a client: failover_time tells members by it):

    {"t": 1763758800.25, "kind": "role", "name": "postgres/postgres-0", "role": "master", "leader": true,
     "ready": true, "ip": "10.244.1.8"}

Ready pods are counted by label set as the watch sees them change, and each selector remembers
the label sets it selects: a line costs what the selectors select, not the pods. A line is written
only while the API server answers (a list of one pod): a quiet watch may be a frozen one.

    python -m gameday.sampler --out runs/x/readiness.jsonl [--stack stack.yaml]

Stops on SIGINT/SIGTERM. Lines are flushed as written, so a crash loses nothing already seen.
"""

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from core.weak_spots import pdb_floor
from edge.kube import PodSeen, api_client, list_json, matches, pod_seen_raw
from edge.stack import Stack, StackError, load_stack

TICK_S = 1.0
MIN_GAP_S = 0.2  # a burst of events makes at most 5 lines a second


class Watched(threading.Thread):
    """One kind of the namespace, listed then watched (as JSON), each object kept as `keep` makes
    it; `changed` is set on every change. While the API cannot be watched, `current` is False: no
    line is written then (a gap in the samples is honest, stale readiness would not be)."""

    def __init__(self, list_call: Callable, ns: str, keep: Callable[[dict], object], changed: threading.Event,
                 stopping: threading.Event, on_change: Callable[[str, object, object], None] = lambda *_: None):
        super().__init__(daemon=True)
        self.list_call, self.ns, self.keep, self.on_change = list_call, ns, keep, on_change
        self.changed, self.stopping = changed, stopping
        self.objects: dict[str, object] = {}
        self.current = False
        self.lock = threading.Lock()

    def _set(self, name: str, kept) -> None:
        with self.lock:
            before = self.objects.pop(name, None)
            if kept is not None:
                self.objects[name] = kept
            self.on_change(name, before, kept)
        self.changed.set()

    def _listed(self) -> str:
        """Lists the kind afresh (after a start or an expired watch); its resourceVersion."""
        self.current = False  # until the list is whole again
        listed = list_json(self.list_call, self.ns, _request_timeout=(5, 60))
        with self.lock:
            for name in list(self.objects):
                self.on_change(name, self.objects.pop(name), None)
        for item in listed["items"]:
            self._set(item["metadata"]["name"], self.keep(item))
        self.current = True
        return listed["metadata"]["resourceVersion"]

    def run(self) -> None:
        version = None
        while not self.stopping.is_set():
            try:
                version = version or self._listed()
                # the server ends a watch after 60 s and the next goes on from the last version seen;
                # a read timeout past that catches one that froze
                for event in watch.Watch().stream(self.list_call, self.ns, timeout_seconds=60, deserialize=False,
                                                  resource_version=version, allow_watch_bookmarks=True,
                                                  _request_timeout=(5, 90)):
                    item = event["object"]
                    version = item["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        self._set(item["metadata"]["name"], None if event["type"] == "DELETED" else self.keep(item))
                    if self.stopping.is_set():
                        return
            except (ApiException, OSError, KeyError, ValueError, urllib3.exceptions.HTTPError) as err:
                # KeyError: the client's own handling of a watch's ERROR event (410 Gone) without objects
                version = None
                if not (isinstance(err, (ApiException, KeyError)) and getattr(err, "status", 410) == 410):
                    self.current = False
                    print(f"sampler: {time.strftime('%H:%M:%S')} {self.list_call.__name__} failed, retrying: {err}",
                          file=sys.stderr, flush=True)
                    self.stopping.wait(1)


def _selector(obj: dict) -> frozenset:
    return frozenset(((obj.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items())


def deployment_kept(obj: dict) -> tuple[frozenset, int | None]:
    return _selector(obj), (obj.get("spec") or {}).get("replicas")


def pdb_kept(obj: dict) -> tuple[frozenset, int | None]:
    """A PDB's selector and its floor in pods (a percentage is of the pods its controller expects)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("minAvailable") is None and spec.get("maxUnavailable") is not None:
        return _selector(obj), status.get("desiredHealthy")   # what the controller computed
    return _selector(obj), pdb_floor(spec.get("minAvailable"), None, status.get("expectedPods") or 0)


class Sampler:
    def __init__(self, stack: Stack, out: Path):
        api = api_client(stack.kube_context)  # its calls time out: a frozen API server costs samples, not the run
        core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
        self.stack, self.out, self.core = stack, out, core
        self.changed, self.stopping = threading.Event(), threading.Event()
        self.ready_by_labels: Counter = Counter()   # the ready pods of each label set (kept at 0 once seen)
        self.selected: dict[frozenset, list[frozenset]] = {}   # a selector -> the label sets it selects
        ns = stack.namespace
        self.pods = Watched(core.list_namespaced_pod, ns, pod_seen_raw, self.changed, self.stopping, self._counted)
        self.deployments = Watched(apps.list_namespaced_deployment, ns, deployment_kept, self.changed, self.stopping)
        self.pdbs = Watched(policy.list_namespaced_pod_disruption_budget, ns, pdb_kept, self.changed, self.stopping)

    def _counted(self, _name: str, before: PodSeen | None, after: PodSeen | None) -> None:
        for pod, sign in ((before, -1), (after, 1)):
            if pod is not None and pod.ready:
                labels = frozenset(pod.labels.items())
                if labels not in self.ready_by_labels:  # a label set not seen yet: the selectors it meets
                    for selector, sets in self.selected.items():
                        if selector <= labels:
                            sets.append(labels)
                self.ready_by_labels[labels] += sign

    def _ready(self, selector: frozenset) -> int:
        if selector not in self.selected:
            self.selected[selector] = [labels for labels in self.ready_by_labels if selector <= labels]
        return sum(self.ready_by_labels[labels] for labels in self.selected[selector])

    def lines(self, now: float) -> list[dict]:
        watched = (self.pods, self.deployments, self.pdbs)
        if not all(w.current for w in watched):
            return []
        rows = []  # a missing object is a line with nulls: "gone" is data too
        with self.pods.lock, self.deployments.lock, self.pdbs.lock:
            for name in self.stack.deployments:
                d = self.deployments.objects.get(name)
                rows.append({"t": now, "kind": "deployment", "name": name, "ready": self._ready(d[0]) if d else None,
                             "desired": d[1] if d else None})
            for name in self.stack.pdbs:
                p = self.pdbs.objects.get(name)
                rows.append({"t": now, "kind": "pdb", "name": name, "ready": self._ready(p[0]) if p else None,
                             "min_available": p[1] if p else None})
            for group, elected in self.stack.elected.items():
                wanted = elected.match_labels
                rows += [{"t": now, "kind": "role", "name": f"{group}/{name}", "role": pod.labels.get(elected.label, ""),
                          "leader": pod.labels.get(elected.label) == elected.leader, "ready": pod.ready, "ip": pod.ip}
                         for name, pod in sorted(self.pods.objects.items()) if matches(pod.labels, wanted)]
        return rows

    def api_answers(self) -> bool:
        """Whether the API server answers now (a list of one pod, within 2 s). A watch of a paused
        or cut-off API server just goes quiet: without this, its last state would be written on as
        if current, and a pod killed just before would never be seen gone."""
        try:
            self.core.list_namespaced_pod(self.stack.namespace, limit=1, _preload_content=False, _request_timeout=(1, 2))
            return True
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as err:
            print(f"sampler: {time.strftime('%H:%M:%S')} no sample, the API server does not answer: {err}",
                  file=sys.stderr, flush=True)
            return False

    def run(self) -> None:
        for watched in (self.pods, self.deployments, self.pdbs):
            watched.start()
        with self.out.open("a") as f:
            while not self.stopping.is_set():
                self.changed.wait(TICK_S)
                self.changed.clear()
                now = time.time()
                for row in self.lines(now) if self.api_answers() else []:
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
