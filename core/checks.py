"""Every check a game day can ask for, declared once (experiments list them under
`extensions: [{name: kube-gameday, verdicts: [{check: NAME, ...}]}]`):

- its spec: the fields an experiment gives it, a frozen dataclass decoded strictly (core.specs);
- the sources of evidence it rests on (readiness samples, the load's timeline, Prometheus), whose
  holes decide whether it may pass or fail (gameday.judge);
- the Prometheus metrics it queries (the dry run says which are missing);
- the numbers of its details that the trend across runs follows (reports.history);
- whether a hole can void its pass (it judged what it saw), or its fail (its fail can mean "no
  data": an alert "never fired" while Prometheus was down).

Experiment validation, coverage, the report and the trend read these declarations; each check's
function is in gameday.checks, bound by `@judges(CHECK)`. A new check is one declaration here,
one function there, and its tests.
"""

from dataclasses import dataclass, field
from typing import Literal

from core.specs import SpecError, decode

READINESS, LOAD, PROMETHEUS = "readiness", "load", "prometheus"   # the sources whose holes are measured
ACTION = {"action": True}  # a spec field naming an action of the experiment's method


@dataclass(frozen=True)
class Check:
    name: str
    spec: type
    about: str                              # one line for `gameday list` and the docs
    sources: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    trend: tuple[str, ...] = ()             # detail keys the history compares run to run
    margin: bool = False                    # its evidence's value against its threshold is a trended margin
    hole_voids_pass: bool = True
    hole_voids_fail: bool = False
    subject_varies: bool = False            # the subject is what the fault picked (a node): trend by check alone
    simulated: bool = False                 # judged on simulated nodes: scheduling only (the report says so)


# ---- the specs ----

@dataclass(frozen=True)
class FailoverRecovered:
    deployment: str
    within_s: float = 60
    after: str | None = field(default=None, metadata=ACTION)  # one verdict per fault when not given


@dataclass(frozen=True)
class PdbRespected:
    pdb: str


@dataclass(frozen=True)
class NoFields:
    pass


@dataclass(frozen=True)
class LongestOutage:
    max_s: float = 0


@dataclass(frozen=True)
class FailedRequests:
    max: int = 0
    except_: tuple[str, ...] = field(default=(), metadata={"key": "except"})  # endpoints allowed to fail


@dataclass(frozen=True)
class SlowestRequest:
    endpoint: str
    max_s: float


@dataclass(frozen=True)
class SloAgreement:
    max_gap: float = 0.01


@dataclass(frozen=True)
class HpaScaledOut:
    hpa: str
    at_least: int
    within_s: float = 300


@dataclass(frozen=True)
class HpaScaledIn:
    hpa: str


@dataclass(frozen=True)
class AlertFired:
    alert: str
    after: str = field(metadata=ACTION)
    detection_s: float = 0
    resolved_after: str | None = field(default=None, metadata=ACTION)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertCanFire:
    alert: str


@dataclass(frozen=True)
class CapacityForTarget:
    target_rps: float


@dataclass(frozen=True)
class WritesLost:
    store: Literal["database", "cache"] = "database"    # the orders committed, or those the cache took
    # a window in which the store documents it may lose acknowledged writes: from the start of the
    # fault's action to tolerated_s after it returned
    tolerated_after: str | None = field(default=None, metadata=ACTION)
    tolerated_s: float = 0


@dataclass(frozen=True)
class FailoverTime:
    after: str = field(metadata=ACTION)     # the fault that took the primary
    within_s: float = 30


@dataclass(frozen=True)
class SplitBrain:
    group: str                              # a group of stack.yaml's `elected`: postgres


@dataclass(frozen=True)
class RejoinTime:
    after: str = field(metadata=ACTION)     # the action that took the pod(s): kill_pods, which names them
    group: str                              # a group of stack.yaml's `elected`: postgres
    within_s: float = 60


@dataclass(frozen=True)
class StaleReads:
    max_lag_s: float = 5                    # the longest an acknowledged write may stay unseen on the replicas


@dataclass(frozen=True)
class ZoneLossRescheduled:
    within_s: float = 180                   # from the zone's loss: the cluster's own grace periods count


@dataclass(frozen=True)
class CapacityMargin:
    min_margin: float = 0.1                 # the least share of CPU, memory and pod slots left free


# ---- the checks ----

SERVER = ("http_requests_total", "http_request_duration_seconds_bucket")
HPA_METRICS = ("kube_horizontalpodautoscaler_status_target_metric", "kube_horizontalpodautoscaler_spec_target_metric")

FAILOVER_RECOVERED = Check(
    "failover_recovered", FailoverRecovered, "ready pods back at desired within within_s of each fault",
    sources=(READINESS,), trend=("recovery_s",), hole_voids_fail=True)
PDB_RESPECTED = Check(
    "pdb_respected", PdbRespected, "ready pods a PDB selects never below its minAvailable", sources=(READINESS,))
DRAIN_COMPLETED = Check(
    "drain_completed", NoFields, "every drain emptied its node, refused evictions retried",
    trend=("drain_s",), subject_varies=True)
PDBS_DISJOINT = Check(
    "pdbs_disjoint", NoFields, "(with a drain) no pod of the namespace under more than one PDB, on any node: "
    "the Eviction API refuses such a pod, so no drain of its node completes")
LONGEST_OUTAGE = Check(
    "longest_outage", LongestOutage, "no stretch without a successful response longer than max_s",
    sources=(LOAD,), trend=("longest_outage_s",), hole_voids_fail=True)
FAILED_REQUESTS = Check(
    "failed_requests", FailedRequests, "at most max failed requests outside the endpoints allowed to fail",
    sources=(LOAD,))
SLOWEST_REQUEST = Check(
    "slowest_request", SlowestRequest, "no request to endpoint slower than max_s while the faults were in: "
    "its timeouts bound what a client waits on a slow dependency", sources=(LOAD,), trend=("slowest_s",))
REACHABILITY = Check(
    "reachability", NoFields, "(with a reachability_matrix probe in the method) every path it measured from inside "
    "the pods open or blocked as expected: too open and too closed are findings, the matrix the evidence")
SLO_CLIENT = Check(
    "slo_client", NoFields, "the stack's SLO objectives as clients saw them (Locust)", sources=(LOAD,), margin=True)
SLO_SERVER = Check(
    "slo_server", NoFields, "the stack's SLO objectives as the server counted them (Prometheus)",
    sources=(PROMETHEUS,), metrics=SERVER, margin=True)
SLO_AGREEMENT = Check(
    "slo_agreement", SloAgreement, "client and server error ratios within max_gap",
    sources=(LOAD, PROMETHEUS), metrics=SERVER[:1], hole_voids_fail=True)  # one side counting longer fails it
HPA_SCALED_OUT = Check(
    "hpa_scaled_out", HpaScaledOut, "replicas ≥ at_least within within_s of the load crossing the HPA's target",
    sources=(READINESS,), metrics=HPA_METRICS, trend=("reaction_s", "reached_s", "peak"))
HPA_SCALED_IN = Check(
    "hpa_scaled_in", HpaScaledIn, "scaled back in, not before the scale-down stabilization window",
    sources=(READINESS,), trend=("first_scale_in_s",))
ALERT_FIRED = Check(
    "alert_fired", AlertFired, "the alert fired within its rule's bound of the fault, resolved and was delivered",
    sources=(PROMETHEUS,), metrics=("ALERTS", "ALERTS_FOR_STATE"), trend=("fire_after_s",),
    hole_voids_pass=False, hole_voids_fail=True)  # a firing seen is seen; "never fired" may be a blind Prometheus
ALERT_RESOLVED = Check(
    "alert_resolved", NoFields, "(from alert_fired with resolved_after) the alert stopped firing after the restore",
    sources=(PROMETHEUS,), metrics=("ALERTS",), trend=("resolved_after_s",))
ALERT_DELIVERED = Check(
    "alert_delivered", NoFields, "(from alert_fired, with an alert sink) the notification reached the receiver",
    trend=("delivered_after_s",))
ALERT_CAN_FIRE = Check(
    "alert_can_fire", AlertCanFire, "every metric the alert's expression names exists in Prometheus",
    sources=(PROMETHEUS,), hole_voids_pass=False, hole_voids_fail=True)  # "absent" may be a blind Prometheus
NO_UNEXPECTED_CRITICAL_ALERT = Check(
    "no_unexpected_critical_alert", NoFields, "no critical alert fired that no alert_fired of the experiment expects",
    sources=(PROMETHEUS,), metrics=("ALERTS",))
CAPACITY_FOR_TARGET = Check(
    "capacity_for_target", CapacityForTarget,
    "a step-load capacity model: replicas for target_rps with a zone lost fit under maxReplicas",
    sources=(LOAD, READINESS, PROMETHEUS),
    metrics=("http_requests_total", "container_cpu_usage_seconds_total", "kube_pod_container_resource_requests"))
# the writers' ledger (load/ledger.jsonl) against the read-back after the run (core.ledger)
ACKNOWLEDGED_WRITES_LOST = Check(
    "acknowledged_writes_lost", WritesLost, "(with writers) every write the database (or the cache: store) "
    "acknowledged is there after recovery: the lost ones are named; no read-back is inconclusive", trend=("lost",))
UNACKNOWLEDGED_WRITES_APPLIED = Check(
    "unacknowledged_writes_applied", NoFields, "(with writers) how many writes the client saw no ack for are there "
    "after all: reported, not failed", trend=("applied",))
FAILOVER_TIME = Check(
    "failover_time", FailoverTime, "(with writers) from the fault to the first write acknowledged by a new primary, "
    "within within_s", trend=("failover_s",))
STALE_READS = Check(
    "stale_reads", StaleReads, "(with writers) each acknowledged order read from the replicas until shown: the "
    "longest a client waited to see its own write there, within max_lag_s", trend=("max_lag_s",))
REJOIN_TIME = Check(
    "rejoin_time", RejoinTime, "each pod the fault took is back and ready in its group within within_s (the "
    "sampler's 1 s look at the group's pods)", sources=(READINESS,), trend=("rejoin_s",))
SPLIT_BRAIN = Check(
    "split_brain", SplitBrain, "never two pods of the group labelled leader at once (the sampler's 1 s look at "
    "their labels)", sources=(READINESS,), trend=("instants",))
# a zone lost on simulated nodes, judged from what probes.zone_loss.zone_loss_observed watched
# (scheduling only: simulated pods run nothing)
ZONE_LOSS_RESCHEDULED = Check(
    "zone_loss_rescheduled", ZoneLossRescheduled, "(simulated nodes) every pod of the lost zone replaced and "
    "available within within_s of the loss", trend=("recovery_s",), simulated=True)
NONE_PENDING_FOR_CAPACITY = Check(
    "none_pending_for_capacity", NoFields, "(simulated nodes) no pod Pending for want of CPU, memory or pod slots "
    "after the zone loss", trend=("pending",), simulated=True)
ZONE_SPREAD_HELD = Check(
    "zone_spread_held", NoFields, "(simulated nodes) each Deployment's pods over the zones left within its zone "
    "spread's maxSkew, none Pending on the constraint", simulated=True)
ZONE_LOSS_BUDGETS_HELD = Check(
    "zone_loss_budgets_held", NoFields, "(simulated nodes) every PDB's healthy pods at or above its floor through the "
    "zone loss (taint-based eviction does not ask the budgets)", trend=("broken",), simulated=True)
CAPACITY_MARGIN = Check(
    "capacity_margin", CapacityMargin, "(simulated nodes) the share of CPU, memory and pod slots left free on the "
    "zones that stayed, at least min_margin", trend=("margin",), simulated=True)
# not asked for by name: judged for every run (guardrail_held: for each guardrail the experiment declares)
GUARDRAIL_HELD = Check(
    "guardrail_held", NoFields, "the guardrail was never crossed while the faults were in effect (crossing one halts "
    "the game day); blind long enough to hide a crossing is inconclusive")
STEADY_STATE = Check("steady_state", NoFields, "the experiment's steady-state hypothesis, before and after")
STACK_PRESENT = Check(
    "stack_present", NoFields, "every Deployment, HPA, PDB and Service the stack names exists: an absent one is a "
    "finding about the stack, not missing data")

CHECKS: dict[str, Check] = {c.name: c for c in (
    FAILOVER_RECOVERED, PDB_RESPECTED, DRAIN_COMPLETED, PDBS_DISJOINT, LONGEST_OUTAGE, FAILED_REQUESTS, SLOWEST_REQUEST,
    REACHABILITY, SLO_CLIENT, SLO_SERVER, SLO_AGREEMENT, HPA_SCALED_OUT, HPA_SCALED_IN, ALERT_FIRED, ALERT_RESOLVED, ALERT_DELIVERED,
    ALERT_CAN_FIRE, NO_UNEXPECTED_CRITICAL_ALERT, CAPACITY_FOR_TARGET, ACKNOWLEDGED_WRITES_LOST,
    UNACKNOWLEDGED_WRITES_APPLIED, FAILOVER_TIME, STALE_READS, REJOIN_TIME, SPLIT_BRAIN, ZONE_LOSS_RESCHEDULED,
    NONE_PENDING_FOR_CAPACITY, ZONE_SPREAD_HELD, ZONE_LOSS_BUDGETS_HELD, CAPACITY_MARGIN, GUARDRAIL_HELD, STEADY_STATE,
    STACK_PRESENT)}
SIMULATED_NOTE = ("judged on simulated nodes (KWOK): their pods run nothing and use no CPU, so these verdicts answer "
                  "scheduling questions (room, spreads, budgets), not whether the stack serves; an HPA never reacts to them")
# what an experiment may list: the rest come with another check or with every run
LISTABLE = tuple(n for n in CHECKS if n not in ("alert_resolved", "alert_delivered", "guardrail_held", "steady_state",
                                                "stack_present"))


@dataclass(frozen=True)
class Asked:
    """One entry of an experiment's verdict list, decoded."""
    check: Check
    spec: object


def asked(entry: dict) -> Asked:
    """The entry {check: NAME, ...fields} decoded strictly; SpecError names the field."""
    name = entry.get("check") if isinstance(entry, dict) else None
    if not isinstance(name, str):
        raise SpecError(f"check: a check name is required (one of {', '.join(LISTABLE)})")
    if name not in LISTABLE:
        raise SpecError(f"check: unknown check {name!r} (known: {', '.join(LISTABLE)})")
    return Asked(CHECKS[name], decode(CHECKS[name].spec, entry, ignore=("check",)))
