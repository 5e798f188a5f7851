"""make bench-scale: does the suite keep up with a big cluster? On the kind cluster's simulated
nodes (KWOK, BENCH_NODES of them), a scaled copy of the seed stack at 100, 1,000 and 10,000 pods
(Deployments of 50 replicas, each with its PDBs: 4, 20 and 200 Deployments). At each size:

- the readiness sampler (gameday.sampler, its own process, as in a game day): its CPU idle and
  while BENCH_CHURN_S of churn scales Deployments up and back down, and its event lag: from the
  moment a watch of this bench's own saw a Deployment's new pod Ready to the sampler's first line
  counting it;
- the judge over the sampler's lines (pdb_respected for every PDB, stack_present);
- the report (`gameday report`, a child process: its time and peak memory) and its size.

Then the ratios from each size to the next (pods ×10): linear growth is ×10, better is less.

    BENCH_PODS=100,1000 BENCH_NODES=300 make bench-scale
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from kubernetes import client

from actions.scaled_copy import delete_scaled_copy, deploy_scaled_copy
from core.simulated import scaled_namespace
from edge.files import read_json_lines
from edge.kube import PodSeen, api_client, pod_seen_raw
from edge.stack import load_stack
from gameday.guard import load_allowlist, target_of
from gameday.judge import judge_run
from gameday.sampler import Watched

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "runs" / "bench-scale"
LEVELS = tuple(int(n) for n in os.environ.get("BENCH_PODS", "100,1000,10000").split(","))
NODES = int(os.environ.get("BENCH_NODES", "1000"))
IDLE_S = 20
CHURN_S = float(os.environ.get("BENCH_CHURN_S", "60"))
CHURN_EVERY_S = 3.0        # a round of scale-ups, then the same Deployments back down
REQUESTS = {"cpu": "10m", "memory": "16Mi"}   # pods fit by pod slots (110 a node), not by CPU


def shape(pods: int) -> tuple[int, int]:
    """(copies of the seed's 4 Deployments, replicas each) for `pods` pods: 50 replicas a
    Deployment, fewer below 200 pods."""
    copies = max(1, pods // 200)
    return copies, pods // (4 * copies)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class ReadyCounts:
    """The bench's own view: each Deployment's ready pods (by the copy's `app` label), from a
    list-then-watch of its own as the sampler makes them (gameday.sampler.Watched, raw JSON), and
    when each count was first reached once the list was whole."""

    def __init__(self, core: client.CoreV1Api, ns: str):
        self.ready: dict[str, bool] = {}     # pod -> ready
        self.app: dict[str, str] = {}        # pod -> its Deployment's app label
        self.reached: list[tuple[float, str, int]] = []   # (when, app, ready count)
        self.stopping = threading.Event()
        self.pods = Watched(core.list_namespaced_pod, ns, pod_seen_raw, threading.Event(), self.stopping,
                            on_change=self._changed)

    def start(self) -> None:
        self.pods.start()

    def _count(self, app: str) -> int:
        return sum(self.ready[p] for p, a in self.app.items() if a == app)

    def _changed(self, name: str, before: PodSeen | None, seen: PodSeen | None) -> None:
        was = before is not None and before.ready
        if seen is None:
            self.ready.pop(name, None)
            self.app.pop(name, None)
        else:
            self.ready[name], self.app[name] = seen.ready, seen.labels.get("app", "")
        # a count reached while (re)listing was not seen as it happened
        if self.pods.current and self.ready.get(name, False) != was:
            app = (seen or before).labels.get("app", "")
            self.reached.append((time.time(), app, self._count(app)))


def churn(apps: client.AppsV1Api, ns: str, deployments: list[str], replicas: int, seconds: float) -> list[tuple]:
    """Scales a few Deployments up by one, then back, round after round; returns each scale-up as
    (when asked, Deployment, the ready count it asks for)."""
    per_round = max(1, len(deployments) // 20)
    asked, turn, ends = [], 0, time.time() + seconds
    while time.time() < ends:
        chosen = [deployments[(turn * per_round + i) % len(deployments)] for i in range(per_round)]
        for name in chosen:
            asked.append((time.time(), name, replicas + 1))
            apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": replicas + 1}})
        time.sleep(CHURN_EVERY_S / 2)
        for name in chosen:
            apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": replicas}})
        time.sleep(CHURN_EVERY_S / 2)
        turn += 1
    return asked


def lags(asked: list[tuple], seen: list[tuple], lines: list[dict]) -> list[float]:
    """Per scale-up: the sampler's first line counting the new pod ready, less the moment the
    bench's watch saw it ready. A scale-up whose pod was never seen ready by both is left out."""
    out = []
    for at, name, count in asked:
        event = next((t for t, app, n in seen if t >= at and app == name and n >= count), None)
        line = next((r["t"] for r in lines if r["t"] >= at and r["kind"] == "deployment" and r["name"] == name
                     and (r["ready"] or 0) >= count), None)
        if event is not None and line is not None:
            out.append(max(0.0, line - event))
    return out


def stack_file(run: Path, seed, ns: str, deployments: list[str], pdbs: list[str]) -> Path:
    path = run / "stack.yaml"
    path.write_text(yaml.safe_dump({
        "name": "bench-scale", "kube_context": seed.kube_context, "namespace": ns,
        "urls": {"entry": seed.entry_url, "prometheus": seed.prometheus_url},
        "deployments": deployments, "pdbs": pdbs, "slo": {"objectives": ["error_ratio < 5%"],
                                                         "server_selector": f'namespace="{ns}"'}}))
    return path


def judged(run: Path, stack_path: Path, started: float, ended: float) -> tuple[float, int]:
    """The judge over the sampler's lines: pdb_respected for every PDB (and stack_present); its
    time in seconds and how many verdicts."""
    iso = lambda ts: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))  # noqa: E731
    stack = load_stack(stack_path)
    experiment = {"title": "bench-scale", "configuration": {}, "extensions": [
        {"name": "kube-gameday", "verdicts": [{"check": "pdb_respected", "pdb": name} for name in stack.pdbs]}]}
    (run / "journal.json").write_text(json.dumps({"experiment": experiment, "status": "completed", "start": iso(started),
                                                  "end": iso(ended), "run": [], "rollbacks": []}))
    (run / "target.json").write_text(json.dumps({"configuration": {"namespace": stack.namespace}}))
    began = time.monotonic()
    verdicts = list(judge_run(run, experiment, str(stack_path), stack))
    took = time.monotonic() - began
    (run / "verdicts.json").write_text(json.dumps({"status": "pass", "error": "", "notes": [],
                                                   "verdicts": [v.to_dict() for v in verdicts]}, default=str))
    return took, len(verdicts)


def reported(run: Path) -> tuple[float, float, float]:
    """`gameday report` on the run: (seconds, peak MB of its process, MB of HTML)."""
    began = time.monotonic()
    report = subprocess.Popen([sys.executable, "-m", "gameday.cli", "report", str(run)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(report.pid, 0)   # this child's own peak, not the sampler's
    took = time.monotonic() - began
    if status:
        raise RuntimeError(f"gameday report {run}: {report.stderr.read().decode()[-2000:]}")
    return took, usage.ru_maxrss / 1024, (run / "report.html").stat().st_size / 1e6


def bench_level(pods: int, seed, target) -> dict:
    copies, replicas = shape(pods)
    configuration = target.configuration()
    api = api_client(seed.kube_context)
    core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
    ns = scaled_namespace(seed.namespace)
    log(f"{pods} pods: the scaled copy, {copies * 4} Deployments × {replicas} replicas, on the simulated nodes ...")
    began = time.monotonic()
    made = deploy_scaled_copy(copies=copies, replicas=replicas, requests=REQUESTS, ready_timeout_s=3600,
                              configuration=configuration)
    setup_s = time.monotonic() - began
    deployments = sorted(d.metadata.name for d in apps.list_namespaced_deployment(ns).items)
    pdbs = sorted(p.metadata.name for p in policy.list_namespaced_pod_disruption_budget(ns).items)
    run = OUT / f"{pods}-pods"
    run.mkdir(parents=True, exist_ok=True)
    for old in run.glob("*"):
        if old.is_file():
            old.unlink()
    stack_path = stack_file(run, seed, ns, deployments, pdbs)
    watcher = ReadyCounts(core, ns)
    watcher.start()
    readiness = run / "readiness.jsonl"
    sampler = subprocess.Popen([sys.executable, "-m", "gameday.sampler", "--out", str(readiness), "--stack",
                                str(stack_path)], cwd=REPO)
    try:
        started = time.time()
        while not (readiness.exists() and readiness.stat().st_size):
            if sampler.poll() is not None:
                raise RuntimeError(f"the sampler exited {sampler.returncode} before its first line")
            time.sleep(0.2)
        first_line_s = time.time() - started
        log(f"  sampler's first line after {first_line_s:.1f} s; idle for {IDLE_S} s ...")
        cpu0 = cpu_s(sampler.pid)
        time.sleep(IDLE_S)
        cpu1 = cpu_s(sampler.pid)
        log(f"  churn for {CHURN_S:.0f} s: Deployments scaled up by one and back every {CHURN_EVERY_S:.0f} s ...")
        asked = churn(apps, ns, deployments, replicas, CHURN_S)
        time.sleep(5)  # the last scale-ups' lines
        cpu2 = cpu_s(sampler.pid)
        ended = time.time()
    finally:
        sampler.send_signal(signal.SIGTERM)
        sampler.wait(timeout=60)
        watcher.stopping.set()
    lines = read_json_lines(readiness)
    lag = lags(asked, list(watcher.reached), lines)
    judge_s, verdicts = judged(run, stack_path, started, ended)
    report_s, report_mb, html_mb = reported(run)
    log(f"  judged {verdicts} verdicts in {judge_s:.1f} s; report in {report_s:.1f} s ({html_mb:.1f} MB)")
    began = time.monotonic()
    delete_scaled_copy(gone_timeout_s=3600, configuration=configuration)
    return {"pods": made["pods"], "deployments": len(deployments), "pdbs": len(pdbs), "setup_s": setup_s,
            "teardown_s": time.monotonic() - began, "first_line_s": first_line_s,
            "idle_cores": (cpu1 - cpu0) / IDLE_S, "churn_cores": (cpu2 - cpu1) / (ended - started - IDLE_S),
            "scale_ups": len(asked), "lag_n": len(lag), "lag_p50_s": statistics.median(lag) if lag else None,
            "lag_max_s": max(lag) if lag else None, "lines": len(lines), "judge_s": judge_s, "report_s": report_s,
            "report_peak_mb": report_mb, "report_mb": html_mb}


def simulated_nodes(count: int) -> None:
    log(f"{count} simulated nodes (cluster/scripts/kwok.sh) ...")
    began = time.monotonic()
    subprocess.run([str(REPO / "cluster" / "scripts" / "kwok.sh"), str(count)], check=True)
    log(f"  ready in {time.monotonic() - began:.0f} s")


def table(rows: list[dict]) -> list[str]:
    def num(v, fmt):
        return "-" if v is None else format(v, fmt)
    out = ["| pods | Deployments / PDBs | set-up | sampler first line | sampler CPU idle / churn | event lag p50 / max "
           "(n) | sampler lines | judge | report (peak) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['pods']:,} | {r['deployments']} / {r['pdbs']} | {r['setup_s']:.0f} s | {r['first_line_s']:.1f} s "
                   f"| {r['idle_cores']:.3f} / {r['churn_cores']:.3f} cores | {num(r['lag_p50_s'], '.2f')} / "
                   f"{num(r['lag_max_s'], '.2f')} s ({r['lag_n']} of {r['scale_ups']}) | {r['lines']:,} "
                   f"| {r['judge_s']:.2f} s | {r['report_s']:.1f} s, {r['report_mb']:.2f} MB ({r['report_peak_mb']:.0f} MB) |")
    for a, b in zip(rows, rows[1:]):
        def ratio(key):
            return "-" if not a[key] or b[key] is None else f"×{b[key] / a[key]:.1f}"
        out.append(f"{a['pods']:,} → {b['pods']:,} pods (×{b['pods'] / a['pods']:.0f}): sampler churn CPU "
                   f"{ratio('churn_cores')}, event lag p50 {ratio('lag_p50_s')}, lines {ratio('lines')}, judge "
                   f"{ratio('judge_s')}, report time {ratio('report_s')}, report size {ratio('report_mb')}")
    return out


def main() -> int:
    seed = load_stack(None)
    target = target_of(seed, load_allowlist())
    simulated_nodes(NODES)
    rows = []
    try:
        for pods in LEVELS:
            rows.append(bench_level(pods, seed, target))
            (OUT / "results.json").write_text(json.dumps(rows, indent=1))
    finally:
        delete_scaled_copy(gone_timeout_s=3600, configuration=target.configuration())
    load = os.getloadavg()[0]
    print("\n".join(table(rows)))
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f}; {NODES} simulated nodes beside the kind "
          f"cluster's 4 (the API server, etcd, the controllers and KWOK share the cores with the sampler)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
