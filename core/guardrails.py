"""Guardrails: the harm an experiment must not do, watched while its faults are in effect. Crossing
one halts the game day: the method stops, the rollbacks run, the run ends `halted` with the
guardrail and the data that crossed it. Declared beside the verdicts:

    extensions:
      - name: kube-gameday
        guardrails:
          - "error_ratio > 20% for 30s"          # clients (Locust): each second, over its last 5 s
          - "server error_ratio > 20% for 30s"   # the entry service's own metrics, over the last 30 s
          - "p95 > 2s for 30s"
          - "ready(core-api) < 1 for 20s"        # ready pods of a Deployment (the readiness sampler)

    [client|server] METRIC OP VALUE[unit] [for DURATION]   METRIC as in core.thresholds; server: error_ratio, pNN, rps
    ready(DEPLOYMENT) OP COUNT [for DURATION]

A guardrail is crossed once its condition has held at every sample for DURATION (at once without
`for`). A sample with no value (no request in the window, Prometheus unreachable, no readiness)
breaks the streak and is blind: the watch says so, and the verdict is inconclusive if a blind
stretch was long enough to hide a crossing. Pure: the watcher (gameday.guardrails) feeds samples
and the judge replays the recorded ones through the same Streak.
"""

import re
from dataclasses import dataclass

from core.durations import seconds
from core.thresholds import Threshold, ThresholdError, parse_threshold

CLIENT, SERVER, READINESS = "client", "server", "readiness"
CLIENT_WINDOW_S = 5    # a second's error ratio at 10 users is 0 or 1 in 20: judge the last 5 s
SERVER_WINDOW_S = 30   # the kind Prometheus scrapes every 5 s: six scrapes a sample
TICK_S = 1.0           # the watcher samples every guardrail once a second
MIN_BLIND_S = 3        # a blind stretch shorter than this hides no crossing worth a halt

_FOR = re.compile(r"^(?P<condition>.*?)\s+for\s+(?P<duration>\S+)\s*$")
_READY = re.compile(r"^ready\((?P<deployment>[a-z0-9]([-a-z0-9.]*[a-z0-9])?)\)\s*(?P<op><=|>=|<|>)\s*"
                    r"(?P<count>\d+)\s*$")
_SERVER_METRICS = re.compile(r"^(p\d{1,2}(\.\d+)?|error_ratio|rps)$")


class GuardrailError(ValueError):
    pass


@dataclass(frozen=True)
class Guardrail:
    expr: str
    source: str            # client | server | readiness
    condition: Threshold   # holds while the guardrail is crossed; its metric is "ready" for readiness
    for_s: float = 0
    deployment: str = ""   # readiness only

    @property
    def blind_limit_s(self) -> float:
        """A blind stretch this long could hide a crossing: the verdict cannot pass."""
        return max(self.for_s, MIN_BLIND_S)

    def describe(self, value: float) -> str:
        metric = self.condition.metric
        if metric == "ready":
            return f"ready({self.deployment}) = {value:.0f}"
        if metric == "error_ratio":
            return f"{metric} = {value:.1%}"
        return f"{metric} = {value:.1f}/s" if metric == "rps" else f"{metric} = {value * 1000:.0f}ms"


def parse_guardrail(expr) -> Guardrail:
    if not isinstance(expr, str) or not expr.strip():
        raise GuardrailError(f"guardrail {expr!r} is not a string like 'error_ratio > 20% for 30s'")
    text, for_s = expr.strip(), 0.0
    if found := _FOR.match(text):
        text = found["condition"]
        try:
            for_s = seconds(found["duration"])
        except ValueError:
            raise GuardrailError(f"guardrail {expr!r}: 'for {found['duration']}' is not a duration like 30s or 1m")
    if text.startswith("ready("):
        return Guardrail(expr.strip(), READINESS, _ready(expr, text), for_s, _READY.match(text)["deployment"])
    source, _, rest = text.partition(" ")
    if source not in (CLIENT, SERVER):
        source, rest = CLIENT, text
    try:
        condition = parse_threshold(rest)
    except ThresholdError as err:
        raise GuardrailError(f"guardrail {expr!r}: {err}; or ready(DEPLOYMENT) OP COUNT; then, optionally, "
                             "'for DURATION'") from None
    if source == SERVER and not _SERVER_METRICS.match(condition.metric):
        raise GuardrailError(f"guardrail {expr!r}: the server side has error_ratio, pNN and rps (from "
                             f"Prometheus' counters and histogram), not {condition.metric}")
    return Guardrail(expr.strip(), source, condition, for_s)


def _ready(expr: str, text: str) -> Threshold:
    found = _READY.match(text)
    if not found:
        raise GuardrailError(f"guardrail {expr!r}: not of the form 'ready(DEPLOYMENT) OP COUNT' (e.g. ready(core-api) < 1)")
    condition = Threshold(text, "ready", found["op"], float(found["count"]))
    if not any(condition.holds(n) for n in range(0, int(condition.limit) + 2)):
        raise GuardrailError(f"guardrail {expr!r} can never be crossed: no count of pods is {found['op']} {found['count']}")
    return condition


def parse_guardrails(exprs, where: str) -> list[Guardrail]:
    """A list of guardrail expressions; GuardrailError naming `where` and the entry."""
    if not isinstance(exprs, list):
        raise GuardrailError(f"{where}: a list of guardrails like 'error_ratio > 20% for 30s', not {exprs!r}")
    guardrails = []
    for i, expr in enumerate(exprs):
        try:
            guardrails.append(parse_guardrail(expr))
        except GuardrailError as err:
            raise GuardrailError(f"{where}[{i}]: {err}") from None
    if len({g.expr for g in guardrails}) < len(guardrails):
        raise GuardrailError(f"{where}: a guardrail is listed twice")
    return guardrails


@dataclass(frozen=True)
class Crossing:
    since: float    # the first sample of the streak that crossed
    at: float       # the sample that completed it
    worst: float    # the value furthest past the limit in the streak

    @property
    def held_s(self) -> float:
        return self.at - self.since


class Streak:
    """Samples of one guardrail in time order; observe() returns the Crossing once the condition
    has held, sample after sample, for the guardrail's `for`. A blind sample (None) or one where
    the condition does not hold starts over; so does a gap between samples longer than a blind
    stretch may be."""

    def __init__(self, guardrail: Guardrail):
        self.guardrail, self.since, self.last, self.values = guardrail, None, None, []
        self.longest_s = 0.0  # the longest the condition held so far, crossed or not

    def observe(self, t: float, value: float | None) -> Crossing | None:
        crossed = value is not None and self.guardrail.condition.holds(value)
        unseen_gap = self.last is not None and t - self.last > self.guardrail.blind_limit_s
        self.last = t
        if not crossed:
            self.since, self.values = None, []
            return None
        if self.since is None or unseen_gap:
            self.since, self.values = t, []
        self.values.append(value)
        self.longest_s = max(self.longest_s, t - self.since)
        if t - self.since < self.guardrail.for_s - TICK_S / 2:  # samples a tick apart jitter by milliseconds
            return None
        worst = max(self.values) if self.guardrail.condition.op.startswith(">") else min(self.values)
        return Crossing(self.since, t, worst)
