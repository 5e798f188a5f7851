"""Failover and PDB verdicts over the readiness samples (gameday.sampler, ≤ 1 s apart) and the
client's view (Locust's 1 s timeline). Pure functions over frames: fetching happened at the edge.
"""

import pandas as pd

from core.load_stats import window_stats
from core.verdict import Verdict, Window, inconclusive, judged

def _series(frame: pd.DataFrame, kind: str, name: str, window: Window) -> pd.DataFrame:
    rows = frame[(frame.kind == kind) & (frame.name == name)]
    return rows[(rows.time >= window.start) & (rows.time <= window.end)].sort_values("t")


def _points(rows: pd.DataFrame, column: str) -> list:
    """Evidence: [unix_ts, value] at every change."""
    changed = rows[rows[column].ne(rows[column].shift())]
    return [[round(t, 3), None if pd.isna(v) else int(v)] for t, v in zip(changed.t, changed[column])]


def failover_recovered(frame: pd.DataFrame, deployment: str, fault_at: pd.Timestamp, window: Window,
                       within_s: float) -> Verdict:
    """pass: after the fault, the Deployment's ready pods were back at its desired replicas within
    within_s (or never fell below); the recovery time and the lowest count are reported."""
    check, subject = "failover_recovered", deployment
    expected = f"ready back to desired within {within_s:.0f} s of the fault"
    rows = _series(frame, "deployment", deployment, window)
    after = rows[rows.time >= fault_at]
    if after.empty:
        return inconclusive(check, expected, "no readiness sample after the fault", window, subject=subject)
    evidence = {"ready": _points(rows, "ready"), "desired": _points(rows, "desired"), "fault_at": fault_at.isoformat()}
    short = after[after.ready.isna() | (after.ready < after.desired)]
    lowest = after.ready.min()
    before = rows[rows.time < fault_at].ready.dropna()
    # what the fault took, against what was ready when it struck (the prediction's measure)
    lost = {"ready_lost": int(before.iloc[-1] - lowest)} if len(before) and not pd.isna(lowest) else {}
    if short.empty:
        return judged(check, True, expected, f"never below desired ({int(after.desired.iloc[0])})", window,
                      evidence, recovery_s=0.0, lowest_ready=lowest, subject=subject, **lost)
    recovered = after[(after.time > short.time.iloc[0]) & (after.ready >= after.desired)]
    if recovered.empty:
        waited = (after.time.iloc[-1] - fault_at).total_seconds()
        last = after.iloc[-1]
        return judged(check, False, expected, f"not recovered after {waited:.0f} s "
                      f"(ready {last.ready}/{last.desired} at the last sample)", window, evidence,
                      reason=f"{deployment} stayed below its desired replicas", lowest_ready=lowest, subject=subject,
                      **lost)
    recovery_s = (recovered.time.iloc[0] - fault_at).total_seconds()
    return judged(check, recovery_s <= within_s, expected,
                  f"recovered in {recovery_s:.1f} s (lowest ready {int(lowest)})", window, evidence,
                  reason="" if recovery_s <= within_s else f"recovery took {recovery_s:.1f} s > {within_s:.0f} s",
                  recovery_s=recovery_s, lowest_ready=lowest, subject=subject, **lost)


def pdb_respected(frame: pd.DataFrame, pdb: str, window: Window) -> Verdict:
    """pass: the ready pods a PDB selects never fell below its minAvailable in the window
    (sampled ≤ 1 s); fail: when and how far they did."""
    check, subject = "pdb_respected", pdb
    rows = _series(frame, "pdb", pdb, window)
    expected = "ready pods ≥ minAvailable throughout"
    if rows.empty or rows.min_available.isna().all():
        return inconclusive(check, expected, f"no readiness sample of PDB {pdb} in the window "
                            "(missing PDB, or sampler not running)", window, subject=subject)
    evidence = {"ready": _points(rows, "ready"), "min_available": _points(rows, "min_available")}
    below = rows[rows.ready.isna() | (rows.ready < rows.min_available)]
    if below.empty:
        margin = int((rows.ready - rows.min_available).min())
        return judged(check, True, expected, f"lowest margin {margin} pod(s) over {rows.min_available.iloc[0]:.0f}",
                      window, evidence, samples=len(rows), subject=subject)
    first = below.iloc[0]
    return judged(check, False, expected, f"{len(below)} sample(s) below, first at {first.time.isoformat()} "
                  f"({first.ready:.0f}/{first.min_available:.0f})", window, evidence,
                  reason=f"PDB {pdb} fell below minAvailable", samples=len(rows), subject=subject)


def longest_outage_s(timeline: pd.DataFrame, window: Window) -> tuple[int, float | None]:
    """The longest run of seconds, while the load ran, with no successful response (all failed,
    or none completed: hanging requests are an outage too); (seconds, its first second as unix ts)."""
    start, end = window.start.timestamp(), window.end.timestamp()
    rows = timeline[(timeline.t >= start) & (timeline.t < end)]
    if rows.empty:
        return 0, None
    ok = (rows.requests - rows.failures).groupby(rows.t).sum()
    seconds = range(int(ok.index.min()), int(ok.index.max()) + 1)
    longest, longest_at, run_at = 0, None, None
    for t in seconds:
        if ok.get(t, 0) > 0:
            run_at = None
            continue
        run_at = t if run_at is None else run_at
        if t - run_at + 1 > longest:
            longest, longest_at = t - run_at + 1, float(run_at)
    return longest, longest_at


def failed_requests(timeline: pd.DataFrame, window: Window, max_failures: int = 0,
                    allowed: tuple[str, ...] = ()) -> Verdict:
    """pass: clients saw at most max_failures failed requests in the window on endpoints other
    than `allowed` (those expected to fail by design, e.g. the ones needing a lost dependency)."""
    check, subject = "failed_requests", f"except {', '.join(allowed)}" if allowed else ""
    expected = f"≤ {max_failures} failed request(s)" + (f" outside {', '.join(allowed)}" if allowed else "")
    start, end = window.start.timestamp(), window.end.timestamp()
    rows = timeline[(timeline.t >= start) & (timeline.t < end)]
    if rows.empty:
        return inconclusive(check, expected, "Locust recorded nothing in the window", window, subject=subject)
    by_endpoint = rows.groupby("name")[["requests", "failures"]].sum()
    counted = by_endpoint[~by_endpoint.index.isin(allowed)]
    failures = int(counted.failures.sum())
    evidence = {n: {"requests": int(r.requests), "failures": int(r.failures)} for n, r in by_endpoint.iterrows()}
    observed = f"{failures} of {int(counted.requests.sum())}" + (
        f"; on {', '.join(allowed)}: {int(by_endpoint.failures.sum()) - failures} (allowed)" if allowed else "")
    return judged(check, failures <= max_failures, expected, observed, window, evidence,
                  reason="" if failures <= max_failures else
                  "failed: " + ", ".join(f"{n} {int(r.failures)}" for n, r in counted.iterrows() if r.failures),
                  subject=subject)


def slowest_request(timeline: pd.DataFrame, window: Window, endpoint: str, max_s: float) -> Verdict:
    """pass: no request to `endpoint` took longer than max_s in the window: however slow what it
    depends on gets, its timeouts bound what a client waits. (Locust keeps times over 1 s to the
    nearest 100 ms.)"""
    check, expected = "slowest_request", f"no {endpoint} request slower than {max_s:g} s"
    stats = window_stats(timeline, window, endpoint)
    if stats is None:
        return inconclusive(check, expected, f"Locust recorded no {endpoint} request in the window", window,
                            subject=endpoint)
    slowest, p95 = stats.max_s, stats.quantile_s(0.95)
    over = sum(n for ms, n in stats.latencies.items() if ms / 1000 > max_s)
    observed = f"slowest {slowest:.2f} s of {stats.requests} (p95 {p95:.2f} s)"
    return judged(check, slowest <= max_s, expected, observed, window,
                  {"requests": stats.requests, "slower": over, "slowest_s": slowest, "p95_s": p95},
                  "" if slowest <= max_s else f"{over} request(s) took longer than {max_s:g} s",
                  subject=endpoint, slowest_s=slowest)
