"""Live view of a running game day, read from what it writes into its run directory: the phase
(the control's events.jsonl), the load (Locust's 1 s timeline) and the ready pods (the sampler)."""

import time
from pathlib import Path
from typing import TextIO

from edge.files import tail_json_lines
from edge.rundir import EVENTS, PROGRESS


def phase_of(event: dict) -> str:
    """What the run is doing, from the last event it wrote."""
    kind = event.get("event", "")
    if kind == "activity-started":  # an action's pauses run inside it: "action X" until it ended
        return f"{event['part']}: {event['type']} {event['name']}"
    if kind == "activity-ended":
        return f"{event['part']}: {event['type']} {event['name']} {event.get('status')}"
    if kind == "settling":
        return f"waiting (up to {event['seconds']:.0f} s) for the HPAs to come to rest"
    if kind == "load-starting":
        return f"starting the load: its {event['workers']} Locust workers connecting"
    if kind == "warm-up":
        return f"warming up the load for {event['seconds']:.0f} s"
    if kind == "halted":
        return f"HALTED by guardrail {event['guardrail']!r}: {event['observed']}; rolling back"
    if kind == "experiment-ended":
        return f"experiment {event.get('status')}; judging"
    return kind.replace("-", " ")


class Progress:
    """On a terminal one status line rewritten every second, a new line at each new phase;
    elsewhere (CI logs) a line at each new phase and every `every_s` seconds."""

    def __init__(self, run_dir: Path, deployments: tuple[str, ...], out: TextIO | None = None, every_s: float = 30):
        self.dir, self.deployments, self.out, self.every_s = run_dir, deployments, out, every_s
        self.tty = bool(out and out.isatty())
        self.last_phase, self.last_print = None, -every_s

    def phase(self) -> tuple[str, float | None]:
        """(what the run is doing, since when: unix time)."""
        return self._now()[:2]

    def _now(self) -> tuple[str, float | None, str]:
        """phase() and what the running activity said it is at, if it said so last
        (edge.rundir.note_progress), from one read of the events."""
        events = tail_json_lines(self.dir / EVENTS)
        last = next((e for e in reversed(events) if e.get("event") != PROGRESS), None)
        note = f": {events[-1]['note']}"[:110] if events and events[-1].get("event") == PROGRESS else ""
        return (phase_of(last)[:90], last.get("t"), note) if last else ("starting", None, "")

    def load(self) -> str:
        """Requests and failures of the last complete second Locust recorded."""
        rows = tail_json_lines(self.dir / "load" / "timeline.jsonl")
        if not rows:
            return "load: none yet"
        second = max(int(r["t"]) for r in rows) - 1
        done = [r for r in rows if int(r["t"]) == second]
        requests, failures = sum(r["requests"] for r in done), sum(r["failures"] for r in done)
        return f"load {requests} req/s, {failures} failed"

    def ready(self) -> str:
        latest = {r["name"]: r for r in tail_json_lines(self.dir / "readiness.jsonl") if r.get("kind") == "deployment"}
        shown = [f"{d} {latest[d]['ready']}/{latest[d]['desired']}" for d in self.deployments if d in latest]
        return "ready " + " ".join(shown) if shown else "ready: no sample yet"

    def line(self, elapsed_s: float) -> str:
        minutes, seconds = divmod(int(elapsed_s), 60)
        phase, since, note = self._now()
        phase += (f" ({time.time() - since:.0f} s)" if since else "") + note
        return f"[{minutes:02d}:{seconds:02d}] {phase} | {self.load()} | {self.ready()}"

    def show(self, elapsed_s: float) -> None:
        phase = self.phase()[0]
        if self.tty:
            end = "\n" if phase != self.last_phase and self.last_phase is not None else ""
            self.out.write(f"{end}\r\x1b[K{self.line(elapsed_s)}")
        elif phase != self.last_phase or elapsed_s - self.last_print >= self.every_s:
            self.out.write(self.line(elapsed_s) + "\n")
            self.last_print = elapsed_s
        self.last_phase = phase
        self.out.flush()

    def done(self) -> None:
        """Ends the rewritten status line before other output."""
        if self.tty and self.last_phase is not None:
            self.out.write("\n")
            self.last_phase = None
