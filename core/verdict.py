"""The one shape every check returns (DESIGN.md, "Verdicts")."""

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
# `gameday`'s exit code by how a run ended: its verdicts' worst, or why it has none
EXIT = {PASS: 0, FAIL: 1, INCONCLUSIVE: 2, "error": 3, "interrupted": 4, "halted": 5}


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window times must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @classmethod
    def from_epoch(cls, start: float, end: float) -> "Window":
        return cls(datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc))


@dataclass(frozen=True)
class Verdict:
    check: str                  # which check judged (core.checks): failover_recovered, slo_client, ...
    status: str
    expected: str
    observed: str
    window: Window | None = None
    evidence: Any = None        # the data judged: series as [[unix_ts, value], ...], counts, queries
    reason: str = ""            # why, for fail and inconclusive above all
    details: dict = field(default_factory=dict)
    subject: str = ""           # what it judged: a Deployment, a PDB, an alert, an objective ("p95")
    after: str = ""             # the fault whose aftermath it judged (an action of the method)

    def __post_init__(self):
        if self.status not in (PASS, FAIL, INCONCLUSIVE):
            raise ValueError(f"status must be pass, fail or inconclusive, not {self.status!r}")

    @property
    def name(self) -> str:
        """How people see it: failover_recovered[core-api] after kill-a-pod, slo_client[p95]."""
        return display_name(self.check, self.subject, self.after)

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict:
        d = {"name": self.name, **asdict(self)}
        if self.window:
            d["window"] = {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()}
        return d


def display_name(check: str, subject: str = "", after: str = "") -> str:
    return check + (f"[{subject}]" if subject else "") + (f" after {after}" if after else "")


# before verdicts had their check and subject apart, three checks wrote the subject into the name
_SUFFIXED = ("slo_client_", "slo_server_", "steady_state_")
_LEGACY_NAME = re.compile(r"^(?P<head>[^\[ ]+)(?:\[(?P<subject>.*)\])?(?: after (?P<after>.+))?$")


def upgraded(record: dict) -> dict:
    """A verdict record (verdicts.json) with its check, subject and after; one written before
    records held them has them read out of its name, here and nowhere else, and is named as a
    verdict is now (slo_client_p95 became slo_client[p95]); the two numbers the trend follows
    that it kept in its evidence move to its details."""
    if "check" in record:
        return record
    found = _LEGACY_NAME.match(str(record.get("name", "")))
    check, subject, after = (found["head"], found["subject"] or "", found["after"] or "") if found \
        else (str(record.get("name", "?")), "", "")
    prefix = next((p for p in _SUFFIXED if check.startswith(p)), None)
    if prefix:
        check, subject = prefix[:-1], " ".join(filter(None, [check[len(prefix):], subject]))
    evidence, details = record.get("evidence"), dict(record.get("details") or {})
    moved = {"longest_outage": ("seconds", "longest_outage_s"), "drain_completed": ("duration_s", "drain_s")}
    if check in moved and isinstance(evidence, dict) and moved[check][0] in evidence:
        details.setdefault(moved[check][1], evidence[moved[check][0]])
    return {**record, "name": display_name(check, subject, after), "check": check, "subject": subject, "after": after,
            "details": details}


def utc(text: str) -> datetime:
    """An ISO 8601 time, timezone-aware in UTC (Chaos Toolkit's journal writes its times naive, in UTC)."""
    ts = datetime.fromisoformat(text)
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def inconclusive(check: str, expected: str, reason: str, window: Window | None = None, evidence: Any = None, *,
                 subject: str = "", after: str = "") -> Verdict:
    """No data, a query error, a window too short: never a pass."""
    return Verdict(check, INCONCLUSIVE, expected, "no usable data", window, evidence, reason, subject=subject,
                   after=after)


def judged(check: str, ok: bool, expected: str, observed: str, window: Window | None = None,
           evidence: Any = None, reason: str = "", *, subject: str = "", after: str = "", **details) -> Verdict:
    return Verdict(check, PASS if ok else FAIL, expected, observed, window, evidence, reason, details, subject, after)
