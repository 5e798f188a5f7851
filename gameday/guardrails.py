"""The guardrail watcher (core.guardrails), a process of its own beside the load and the sampler:
gameday.controls starts it when an experiment declares guardrails.

    python -m gameday.guardrails --run-dir D --stack S --chaos-pid PID GUARDRAIL...

From the method's start to the rollbacks' start (the control's events.jsonl) it samples every
guardrail once a second: the client side from Locust's timeline, the server side from Prometheus,
ready pods from the sampler's lines. Each sample is a line of guardrails.jsonl:

    {"t": 1763758800.0, "guardrail": "error_ratio > 20% for 30s", "value": 0.31}
    {"t": 1763758801.0, "guardrail": "server error_ratio > 20% for 30s", "value": null,
     "blind": "Prometheus unreachable: ..."}

When one is crossed it writes the `halted` event (the guardrail and the data that crossed it) and
sends chaos SIGINT, the suite's graceful stop: the method ends, the rollbacks run. Then it exits.
Stops on SIGINT/SIGTERM.
"""

import argparse
import json
import os
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from core.guardrails import (CLIENT, CLIENT_WINDOW_S, READINESS, SERVER, SERVER_WINDOW_S, TICK_S, Crossing, Guardrail,
                             Streak, parse_guardrail)
from core.load_stats import window_stats
from core.verdict import Window
from edge.files import columns_of, tail_json_lines
from edge.prometheus import Prometheus, PrometheusError
from edge.rundir import EVENTS, TIMELINE_COLUMNS, append_event
from edge.stack import Stack, StackError, load_stack
from loadtests.workers import REPORT_LAG_S
from probes.slo import latency_quantile_query, request_rate, server_counts

SAMPLES = "guardrails.jsonl"
STALE_READINESS_S = 3  # the sampler writes at least once a second: older than this, it is not seeing


class Sources:
    """Each guardrail's value now, or None and why not."""

    def __init__(self, run_dir: Path, stack: Stack):
        self.run_dir, self.stack = run_dir, stack
        self._worker_lag_s: int | None = None
        self.prometheus = Prometheus(stack.prometheus_url, timeout_s=5)

    def value(self, guardrail: Guardrail, now: float) -> tuple[float | None, str]:
        return {CLIENT: self.client, SERVER: self.server, READINESS: self.ready}[guardrail.source](guardrail, now)

    @property
    def worker_lag_s(self) -> int:
        """How late a second's last lines may come: 0 from one Locust process, a report interval
        and a heartbeat more from workers (load/profile.json's workers, written before Locust starts)."""
        if self._worker_lag_s is None:
            profile = self.run_dir / "load" / "profile.json"
            if not profile.exists():
                return 0
            try:
                self._worker_lag_s = REPORT_LAG_S if json.loads(profile.read_text()).get("workers") else 0
            except ValueError:  # being written: ask again next second
                return 0
        return self._worker_lag_s

    def client(self, guardrail: Guardrail, now: float) -> tuple[float | None, str]:
        # Locust appends a second once it is over: the last complete one is the one before now's;
        # with workers, once every worker has reported it (a report every 3 s)
        last = int(now) - 1 - self.worker_lag_s
        rows = [r for r in tail_json_lines(self.run_dir / "load" / "timeline.jsonl")
                if last - CLIENT_WINDOW_S <= r.get("t", 0) < last]
        stats = window_stats(columns_of(rows, TIMELINE_COLUMNS), Window.from_epoch(last - CLIENT_WINDOW_S, last))
        if stats is None:
            return None, f"Locust recorded no request in the last {CLIENT_WINDOW_S} s"
        return stats.value(guardrail.condition), ""

    def server(self, guardrail: Guardrail, now: float) -> tuple[float | None, str]:
        window, selector = Window.from_epoch(now - SERVER_WINDOW_S, now), self.stack.server_selector
        metric = guardrail.condition.metric
        try:
            if metric == "error_ratio":
                requests, errors = server_counts(self.prometheus, window, selector)
                value = errors / requests if requests else None
            elif metric == "rps":
                value = request_rate(self.prometheus, window, selector)
            else:
                value = self.prometheus.scalar(latency_quantile_query(guardrail.condition.quantile, window, selector),
                                               window.end)
        except PrometheusError as err:
            return None, str(err)
        if value is None or value != value:  # no series, or NaN (a histogram with no request in it)
            return None, f"Prometheus has no requests of the entry service in the last {SERVER_WINDOW_S} s"
        return value, ""

    def ready(self, guardrail: Guardrail, now: float) -> tuple[float | None, str]:
        rows = [r for r in tail_json_lines(self.run_dir / "readiness.jsonl")
                if r.get("kind") == "deployment" and r.get("name") == guardrail.deployment]
        if not rows or now - rows[-1]["t"] > STALE_READINESS_S:
            return None, f"no readiness sample of {guardrail.deployment} in the last {STALE_READINESS_S} s"
        return float(rows[-1]["ready"]), ""


class Phase:
    """Where the experiment is, from events.jsonl: watching from the method's start until the
    rollbacks start or the experiment ends."""

    def __init__(self, run_dir: Path):
        self.path, self.started, self.over = run_dir / EVENTS, False, False

    def update(self) -> None:
        for event in tail_json_lines(self.path, max_bytes=1 << 20):
            kind = event.get("event")
            self.started = self.started or kind == "method-started"
            self.over = self.over or kind in ("rollbacks-started", "experiment-ended", "halted")

    @property
    def watching(self) -> bool:
        return self.started and not self.over


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S")


def halt(run_dir: Path, chaos_pid: int, guardrail: Guardrail, crossing: Crossing) -> None:
    observed = (f"{guardrail.describe(crossing.worst)} (worst), crossed for {crossing.held_s:.0f} s "
                f"from {_time(crossing.since)} UTC")
    append_event(run_dir, "halted", guardrail=guardrail.expr, observed=observed, since=crossing.since,
                 at=crossing.at, worst=crossing.worst)
    print(f"guardrail crossed: {guardrail.expr}: {observed}; halting the game day", flush=True)
    try:
        os.kill(chaos_pid, signal.SIGINT)
    except ProcessLookupError:
        print(f"chaos (pid {chaos_pid}) is gone: nothing to halt", flush=True)


def watch(run_dir: Path, stack: Stack, guardrails: list[Guardrail], chaos_pid: int, stopping: list) -> int:
    sources, phase = Sources(run_dir, stack), Phase(run_dir)
    streaks = [Streak(g) for g in guardrails]
    with open(run_dir / SAMPLES, "a") as out:
        next_tick = time.time()
        while not stopping:
            phase.update()
            if phase.over:
                return 0
            if phase.watching:
                now = time.time()
                for streak in streaks:
                    value, blind = sources.value(streak.guardrail, now)
                    out.write(json.dumps({"t": round(now, 3), "guardrail": streak.guardrail.expr, "value": value,
                                          **({"blind": blind} if blind else {})}) + "\n")
                    out.flush()
                    if crossing := streak.observe(now, value):
                        halt(run_dir, chaos_pid, streak.guardrail, crossing)
                        return 0
            next_tick += TICK_S
            time.sleep(max(0.0, next_tick - time.time()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gameday.guardrails")
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--stack", default=None)
    parser.add_argument("--chaos-pid", required=True, type=int)
    parser.add_argument("guardrails", nargs="+")
    args = parser.parse_args(argv)
    try:
        stack = load_stack(args.stack)
        guardrails = [parse_guardrail(g) for g in args.guardrails]
    except (StackError, ValueError) as err:
        print(f"gameday.guardrails: {err}", file=sys.stderr)
        return 3
    stopping: list = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    print(f"watching {len(guardrails)} guardrail(s) from the method's start: "
          + "; ".join(g.expr for g in guardrails), flush=True)
    return watch(args.run_dir, stack, guardrails, args.chaos_pid, stopping)


if __name__ == "__main__":
    sys.exit(main())
