"""Across the runs of a runs folder (the history page): which alert each class of fault set off
(the detection matrix), and a resilience score whose every part is shown.

Fault class: the suite's action the method ran (kill_pods, drain_node, fail_nodes, ...; a run whose
method only waits is `load only`). An alert is expected in a run when an alert_fired verdict asks
for it; it fired when that verdict timed its firing, or, unasked, when Prometheus had it firing.

Score: over each experiment's latest run, the weight of the verdicts that passed over the weight
of those judged (pass or fail; inconclusive ones are listed apart, they count neither way). A
check's weight says what its failure means (WEIGHTS): lost writes and split brains most, then
outages and broken budgets, then the SLOs and alerts. Each failure is shown with what its run
cost: the longest outage clients saw, and the share of a 30-day error budget the run spent.
"""

from dataclasses import dataclass, field

from core.faults import UNDOS
from core.verdict import FAIL, INCONCLUSIVE, PASS
from edge.rundir import RunDir, RunDirError
from reports.budget import error_budgets, objectives_of

LOAD_ONLY = "load only"
WEIGHTS = {"acknowledged_writes_lost": 5, "split_brain": 5,
           "longest_outage": 3, "failover_recovered": 3, "failover_time": 3, "pdb_respected": 3, "rejoin_time": 3,
           "drain_completed": 2, "failed_requests": 2, "slo_client": 2, "slo_server": 2, "alert_fired": 2,
           "no_unexpected_critical_alert": 2, "hpa_scaled_out": 2, "stale_reads": 2}
DEFAULT_WEIGHT = 1


@dataclass
class Cell:
    """One fault class × alert: in how many runs it was expected, fired, and how fast."""
    runs: int = 0
    expected: int = 0
    fired: int = 0
    unexpected: int = 0                                     # fired in runs that did not ask for it
    fire_s: list[float] = field(default_factory=list)       # time to fire, where a verdict timed it
    bound_s: float | None = None                            # the rule's own budget (for + evaluation + scrape)

    @property
    def never(self) -> int:
        return self.expected - min(self.fired - self.unexpected, self.expected)


def fault_classes(run: RunDir) -> list[str]:
    """The actions the method ran, in order, each once; not those undoing a fault (a node restarted
    by the method is the end of its fault, not a fault of its own: core.faults)."""
    funcs = [r["activity"].get("provider", {}).get("func", "?") for r in run.activities("run", "action")]
    funcs = [f for f in funcs if f not in UNDOS]
    return list(dict.fromkeys(funcs)) or [LOAD_ONLY]


def _fired_in_prometheus(run: RunDir) -> set[str]:
    return {row["labels"].get("alertname", "?") for row in (run.prometheus or {}).get("alerts", [])
            if row["labels"].get("alertstate") == "firing" and any(v for _, v in row["values"])}


def detection_matrix(runs: list[RunDir]) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    """(fault classes, alerts, cells by (class, alert))."""
    cells: dict[tuple[str, str], Cell] = {}
    for run in runs:
        verdicts = (run.record or {}).get("verdicts", [])
        timed = {v["subject"]: v for v in verdicts if v["check"] == "alert_fired" and v["status"] != INCONCLUSIVE}
        asked = {v["subject"] for v in verdicts if v["check"] == "alert_fired"}
        seen = _fired_in_prometheus(run)
        for fault in fault_classes(run):
            for alert in asked | seen:
                cell = cells.setdefault((fault, alert), Cell())
                cell.runs += 1
                verdict = timed.get(alert)
                if alert in asked:
                    cell.expected += 1
                    details = (verdict or {}).get("details") or {}
                    if details.get("fire_after_s") is not None:
                        cell.fired += 1
                        cell.fire_s.append(float(details["fire_after_s"]))
                    cell.bound_s = details.get("bound_s", cell.bound_s)
                else:
                    cell.fired += 1
                    cell.unexpected += 1
    faults = sorted({f for f, _ in cells})
    alerts = sorted({a for _, a in cells})
    return faults, alerts, cells


@dataclass
class Part:
    """One judged verdict's share of the score."""
    experiment: str
    verdict: str
    status: str
    weight: int
    outage_s: float | None = None        # the run's longest outage (longest_outage), for a failure
    budget_spent: float | None = None    # the run's worst share of a 30-day error budget, for a failure


@dataclass
class Score:
    parts: list[Part]

    def _weight(self, *statuses: str) -> int:
        return sum(p.weight for p in self.parts if p.status in statuses)

    @property
    def value(self) -> float | None:
        judged = self._weight(PASS, FAIL)
        return 100 * self._weight(PASS) / judged if judged else None

    @property
    def failures(self) -> list[Part]:
        return [p for p in self.parts if p.status == FAIL]

    @property
    def unjudged(self) -> list[Part]:
        return [p for p in self.parts if p.status == INCONCLUSIVE]


def _costs(run: RunDir, verdicts: list[dict]) -> tuple[float | None, float | None]:
    outage = max((v["details"]["longest_outage_s"] for v in verdicts
                  if v["check"] == "longest_outage" and "longest_outage_s" in (v.get("details") or {})), default=None)
    spent = None
    try:
        if run.per_second is not None:
            rows = error_budgets(run.per_second, objectives_of(verdicts, run.profile), [])["rows"]
            spent = max((r["period_spent"] for r in rows if r["period_spent"] is not None), default=None)
    except RunDirError:
        pass
    return outage, spent


def resilience_score(latest: dict[str, RunDir]) -> Score:
    """The score over each experiment's latest run ({experiment: its run})."""
    parts = []
    for experiment, run in sorted(latest.items()):
        verdicts = (run.record or {}).get("verdicts", [])
        costs = _costs(run, verdicts) if any(v["status"] == FAIL for v in verdicts) else (None, None)
        for v in verdicts:
            weight = WEIGHTS.get(v["check"], DEFAULT_WEIGHT)
            parts.append(Part(experiment, v["name"], v["status"], weight,
                              *(costs if v["status"] == FAIL else (None, None))))
    return Score(parts)
