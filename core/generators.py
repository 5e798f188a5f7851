"""The load generators' own account (load/generators.jsonl, loadtests.distributed): was a generator
busy enough to be the limit rather than the stack, and which workers were lost mid-run."""

from dataclasses import dataclass

import pandas as pd

CPU_LIMIT = 85.0  # % of one core: above it Locust's own timings and rate are no longer the stack's
GENERATOR_COLUMNS = ["t", "generator", "id", "cpu", "state", "lost", "last_report"]


@dataclass(frozen=True)
class Generator:
    name: str
    mean_cpu: float | None
    peak_cpu: float | None
    busy_s: int              # seconds sampled above CPU_LIMIT
    lost_at: float | None = None
    last_report: float | None = None

    @property
    def limit(self) -> bool:
        return self.busy_s > 0

    def __str__(self) -> str:
        return f"{self.name} above {CPU_LIMIT:.0f} % CPU for {self.busy_s} s (peak {self.peak_cpu:.0f} %)"


def generators(frame: pd.DataFrame) -> list[Generator]:
    """Each generator's CPU over the run and, for a worker, when it was lost (its last report
    before it: the requests after that one are unknown)."""
    out = []
    for name, rows in frame.groupby("generator", sort=False):
        cpu = rows.cpu.dropna().astype(float)
        lost = rows[rows.lost.fillna(False).astype(bool)]
        out.append(Generator(str(name), round(cpu.mean(), 1) if len(cpu) else None,
                             round(cpu.max(), 1) if len(cpu) else None, int((cpu > CPU_LIMIT).sum()),
                             float(lost.t.iloc[0]) if len(lost) else None,
                             float(lost.last_report.iloc[0]) if len(lost) else None))
    return out


def generator_warning(gens: list[Generator]) -> str:
    """The report's flag when a generator may have been the limit; empty when none was."""
    busy = [g for g in gens if g.limit]
    if not busy:
        return ""
    return ("the load generator, not the stack, may be the limit: " + "; ".join(map(str, busy))
            + " (more workers: --workers)")
