"""The one shape every check returns (DESIGN.md, "Verdicts")."""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


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
    name: str
    status: str
    expected: str
    observed: str
    window: Window | None = None
    evidence: Any = None        # the data judged: series as [[unix_ts, value], ...], counts, queries
    reason: str = ""            # why, for fail and inconclusive above all
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in (PASS, FAIL, INCONCLUSIVE):
            raise ValueError(f"status must be pass, fail or inconclusive, not {self.status!r}")

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.window:
            d["window"] = {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()}
        return d


def utc(text: str) -> datetime:
    """An ISO 8601 time, timezone-aware in UTC (Chaos Toolkit's journal writes its times naive, in UTC)."""
    ts = datetime.fromisoformat(text)
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def inconclusive(name: str, expected: str, reason: str, window: Window | None = None,
                 evidence: Any = None) -> Verdict:
    """No data, a query error, a window too short: never a pass."""
    return Verdict(name, INCONCLUSIVE, expected, "no usable data", window, evidence, reason)


def judged(name: str, ok: bool, expected: str, observed: str, window: Window | None = None,
           evidence: Any = None, reason: str = "", **details) -> Verdict:
    return Verdict(name, PASS if ok else FAIL, expected, observed, window, evidence, reason, details)
