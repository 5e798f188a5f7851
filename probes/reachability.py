"""reachability: what the cluster's NetworkPolicies let through, measured from inside the pods.

The Chaos Toolkit probe `reachability_matrix` takes paths (core.reachability: from the pods a
selector picks to a Service or an address, each expected open or blocked) and, on each node
running a source pod, starts a one-shot node agent (agent.reach) that enters every such pod's
network namespace and opens a TCP connection to each destination: the Service's cluster IP and
each of its ready endpoints, as the pod itself would. The matrix, every cell with its outcome, is
the probe's output in the journal; `reachability` judges it (gameday.checks).

A connection proves `open`; for `blocked`, no connection (refused, unreachable, timed out) proves
it only where the same destination was seen open from some other source in the same matrix: a
port nothing listens on refuses every source, policy or not.
"""

import json
import logging
from collections import defaultdict
from datetime import datetime, timezone

from kubernetes import client

from core.plans import planned
from core.reachability import BLOCKED, OPEN, Path, paths_of
from core.target import Target
from core.verdict import Verdict, Window, inconclusive, judged, utc
from edge.agents import one_shot_output, start_one_shot
from edge.kube import API_ERRORS, cluster_ipv4s, core_api, read_service, service_backends, tcp_ports

log = logging.getLogger("chaostoolkit")
AGENT_TIMEOUT_S = 120


# ---- the matrix: who the sources and destinations are ----

def sources_of(core: client.CoreV1Api, path: Path, default_ns: str) -> list[client.V1Pod]:
    """The running pods the path's selector picks; PermissionError for one on its node's network
    (no namespace of its own: no policy applies to it, nothing to look from)."""
    ns, selector = path.source(default_ns)
    pods = [p for p in core.list_namespaced_pod(ns, label_selector=selector).items
            if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    if hostnet := [p.metadata.name for p in pods if p.spec.host_network]:
        raise PermissionError(f"from {path.from_}: pods {', '.join(hostnet)} run on their node's network "
                              "(hostNetwork): NetworkPolicies do not apply to them")
    return pods


def destinations_of(core: client.CoreV1Api, path: Path, default_ns: str) -> list[tuple[str, int, str]]:
    """(address, port, what it is) for the path's `to`: an address as given; a Service's cluster IP
    and each ready endpoint (its pod named), at the port's target. LookupError naming what is missing."""
    if address := path.address():
        return [(*address, path.to)]
    ns, name, wanted = path.service(default_ns)
    service = read_service(core, ns, name)
    if service is None:
        raise LookupError(f"to {path.to}: no Service {name} in {ns}")
    ports = [p for p in tcp_ports(service) if not wanted or wanted in (str(p.port), p.name)]
    if len(ports) != 1:
        listed = ", ".join(f"{p.name or '-'}:{p.port}" for p in service.spec.ports or [])
        raise LookupError(f"to {path.to}: Service {ns}/{name} has {'no' if not ports else 'more than one'} "
                          f"TCP port{' ' + wanted if wanted else ''} to pick (its ports: {listed or 'none'})")
    port_name = ports[0].name or ""
    return ([(ip, ports[0].port, f"Service {ns}/{name}") for ip in cluster_ipv4s(service)]
            + [(b.address, b.port, f"pod {ns}/{b.pod}") for b in service_backends(core, ns, name)
               if b.ready and b.port_name == port_name])


def _matrix_plan(core: client.CoreV1Api, paths: list[Path], default_ns: str) -> list[dict]:
    """Per path: its sources and destinations, or why it has none (the probe records that, and goes on)."""
    planned_paths = []
    for path in paths:
        entry = {"from": path.from_, "to": path.to, "expect": path.expect, "sources": [], "destinations": [],
                 "missing": ""}
        try:
            entry["sources"] = sources_of(core, path, default_ns)
            entry["destinations"] = destinations_of(core, path, default_ns)
        except (LookupError, PermissionError) as err:
            entry["missing"] = str(err)
        if not entry["missing"] and not entry["sources"]:
            entry["missing"] = f"from {path.from_}: no running pod matches"
        elif not entry["missing"] and not entry["destinations"]:
            entry["missing"] = f"to {path.to}: no cluster IP and no ready endpoint"
        planned_paths.append(entry)
    return planned_paths


def _plan(a: dict, target: Target) -> list[str]:
    core = core_api(target.context)
    lines = []
    for entry in _matrix_plan(core, paths_of(a["paths"]), target.namespace):
        head = f"{entry['from']} → {entry['to']} expected {entry['expect']}: "
        lines.append(head + (f"NOT PROBED: {entry['missing']}" if entry["missing"] else
                             f"{len(entry['sources'])} pod(s) × {len(entry['destinations'])} destination(s) "
                             f"({', '.join(sorted({d for _, _, d in entry['destinations']}))})"))
    return [f"look from inside each source pod, through a node agent on its node (read-only; TCP, "
            f"{a['timeout_s']:g} s per attempt):", *lines]


# ---- the probe ----

@planned(_plan)
def reachability_matrix(paths: list[dict], timeout_s: float = 3, configuration: dict | None = None) -> dict:
    """Opens a TCP connection from inside every running pod each path's `from` picks to each
    destination of its `to` (a Service: its cluster IP and each ready endpoint), through one
    read-only node agent per node, and returns the matrix: for each path, every cell's source,
    destination, outcome (open, refused, unreachable, timeout; no-netns, error) and milliseconds.
    A path with nothing to probe is recorded with why; the others are probed all the same."""
    target = Target.of(configuration)
    if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s <= 30):
        raise ValueError(f"timeout_s: seconds in (0, 30], not {timeout_s!r}")
    core = core_api(target.context)
    planned_paths = _matrix_plan(core, paths_of(paths), target.namespace)
    by_node: dict[str, dict[str, dict]] = defaultdict(dict)  # node -> "ns/pod" -> its source spec
    for entry in planned_paths:
        for pod in entry["sources"]:
            named = f"{pod.metadata.namespace}/{pod.metadata.name}"
            source = by_node[pod.spec.node_name].setdefault(named, {"pod": named, "uid": pod.metadata.uid,
                                                                    "destinations": []})
            source["destinations"] += [[a, p] for a, p, _ in entry["destinations"] if [a, p] not in source["destinations"]]
    probed_at = datetime.now(timezone.utc).isoformat()
    agents: dict[str, str | Exception] = {}  # every node's agent started before any is waited for
    for node, sources in by_node.items():
        try:
            agents[node] = start_one_shot(core, node, "reach", "agent.reach", [
                "--spec", json.dumps({"timeout_s": timeout_s, "sources": list(sources.values())})])
        except API_ERRORS as err:
            agents[node] = err
    seen: dict[tuple[str, str], dict] = {}  # ("ns/pod", "address:port") -> cell
    for node, agent in agents.items():
        try:
            if isinstance(agent, Exception):
                raise RuntimeError(f"not started: {agent}")
            answer = json.loads(one_shot_output(core, agent, AGENT_TIMEOUT_S).strip().splitlines()[-1])
        except (RuntimeError, ValueError, IndexError, *API_ERRORS) as err:  # those cells unmeasured, not the rest
            answer = [{"pod": s["pod"], "cells": [{"destination": f"{a}:{p}", "outcome": "error", "ms": None,
                                                   "detail": f"node agent on {node}: {str(err)[:300]}"}
                                                  for a, p in s["destinations"]]} for s in by_node[node].values()]
        for source in answer:
            for cell in source["cells"]:
                seen[(source["pod"], cell["destination"])] = {**cell, "node": node}
    log.info("reachability: %d cell(s) from %d node(s)", len(seen), len(agents))
    return {"probed_at": probed_at, "timeout_s": timeout_s, "paths": [_recorded(e, seen) for e in planned_paths]}


def _recorded(entry: dict, seen: dict) -> dict:
    cells = [{"source": f"{pod.metadata.namespace}/{pod.metadata.name}", "to": what,
              **seen.get((f"{pod.metadata.namespace}/{pod.metadata.name}", f"{a}:{p}"),
                         {"destination": f"{a}:{p}", "outcome": "error", "ms": None, "detail": "not probed"})}
             for pod in entry["sources"] for a, p, what in entry["destinations"]]
    return {"from": entry["from"], "to": entry["to"], "expect": entry["expect"], "missing": entry["missing"],
            "cells": cells}


def _check_arguments(arguments: dict) -> None:
    """For the experiment's loader: the paths as written, before anything runs (SpecError)."""
    paths_of(arguments.get("paths"))


reachability_matrix.check_arguments = _check_arguments


# ---- the verdict ----

UNSEEN = ("no-netns", "error")   # the cell was not measured


def path_outcome(path: dict, listening: set[str]) -> tuple[str, str]:
    """(as-expected | too-open | too-closed | unproven, why) for one recorded path. `listening`:
    the destinations some cell of the matrix reached."""
    cells = path["cells"]
    if path["missing"] or not cells:
        return "unproven", path["missing"] or "no cell"
    unseen = [c for c in cells if c["outcome"] in UNSEEN]
    opened = [c for c in cells if c["outcome"] == OPEN]
    shut = [c for c in cells if c["outcome"] not in UNSEEN and c["outcome"] != OPEN]
    if path["expect"] == OPEN:
        if shut:
            return "too-closed", _cells(shut)
    else:
        if opened:
            return "too-open", _cells(opened)
        if unproven := [c for c in shut if c["destination"] not in listening]:
            return "unproven", ("nothing in the matrix reached " + ", ".join(sorted({c["destination"] for c in unproven}))
                                + ": a port no one listens on refuses every source (add a path expected open to it)")
    if unseen:
        return "unproven", _cells(unseen)
    return "as-expected", f"{len(cells)} cell(s) {path['expect']}"


def _cells(cells: list[dict]) -> str:
    shown = [f"{c['source']} → {c['to']} ({c['destination']}): {c['outcome']}" for c in cells[:4]]
    return "; ".join(shown) + (f"; and {len(cells) - 4} more" if len(cells) > 4 else "")


def reachability(record: dict) -> Verdict:
    """One verdict per probe record: pass when every path is as expected; fail naming each path
    that lets through what it must not (too open) or stops what it must let through (too closed);
    inconclusive when nothing failed but a path was not (fully) measured or proven."""
    name = record["activity"]["name"]
    window = Window(utc(record["start"]), utc(record["end"]))
    expected = "every path open or blocked as the experiment says, seen from inside the pods"
    out = record.get("output")
    if record.get("status") != "succeeded" or not isinstance(out, dict):
        return inconclusive("reachability", expected, f"the probe failed: {record.get('exception') or out}", window,
                            after=name)
    listening = {c["destination"] for p in out["paths"] for c in p["cells"] if c["outcome"] == OPEN}
    judged_paths = [(p, *path_outcome(p, listening)) for p in out["paths"]]
    wrong = [(p, o, why) for p, o, why in judged_paths if o in ("too-open", "too-closed")]
    unproven = [(p, why) for p, o, why in judged_paths if o == "unproven"]
    counts = {o: sum(1 for _, x, _ in judged_paths if x == o) for o in ("as-expected", "too-open", "too-closed", "unproven")}
    cells = sum(len(p["cells"]) for p in out["paths"])
    observed = (f"{counts['as-expected']} of {len(judged_paths)} path(s) as expected ({cells} cells)"
                + "".join(f", {counts[o]} {o}" for o in ("too-open", "too-closed", "unproven") if counts[o]))
    evidence = {"timeout_s": out.get("timeout_s"), "paths": [{**p, "outcome": o, "why": why} for p, o, why in judged_paths]}
    details = {"paths": len(judged_paths), "cells": cells, **{k.replace("-", "_"): v for k, v in counts.items()}}
    if wrong:
        reason = "; ".join(f"{o}: {p['from']} → {p['to']} (expected {p['expect']}): {why}" for p, o, why in wrong)
        return judged("reachability", False, expected, observed, window, evidence, reason, after=name, **details)
    if unproven:
        reason = "; ".join(f"{p['from']} → {p['to']} (expected {p['expect']}) not proven: {why}" for p, why in unproven)
        return Verdict("reachability", "inconclusive", expected, observed, window, evidence, reason, details,
                       after=name)
    return judged("reachability", True, expected, observed, window, evidence, after=name, **details)
