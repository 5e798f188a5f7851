"""guardrail_held: a guardrail (core.guardrails) judged on the samples its watcher recorded, the
same Streak replayed: crossed is a fail (with the values that crossed it), a blind stretch long
enough to hide a crossing is inconclusive, watched throughout and never crossed is a pass. Pure:
the unit tests build the samples by hand."""

from datetime import datetime, timezone

import pandas as pd

from core.guardrails import Crossing, Guardrail, Streak
from core.verdict import Verdict, Window, inconclusive, judged

CHECK = "guardrail_held"
EVIDENCE_MARGIN_S = 10  # seconds of samples kept as evidence before a crossing


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S")


def blind_stretches(samples: pd.DataFrame, watched: Window, limit_s: float) -> list[tuple[float, float, str]]:
    """(start, end, why) of each stretch of the watch without a value, as long as limit_s or longer:
    blind samples in a row, gaps between samples, and the watch's start and end left unsampled."""
    start, end = watched.start.timestamp(), watched.end.timestamp()
    stretches, blind_since, why, last = [], start, "no sample yet", start
    for row in samples.itertuples():
        if row.value is None or pd.isna(row.value):
            if blind_since is None:
                blind_since, why = last, row.blind or "no value"
        else:
            if blind_since is not None and row.t - blind_since >= limit_s:
                stretches.append((blind_since, row.t, why))
            elif blind_since is None and row.t - last >= limit_s:
                stretches.append((last, row.t, "no sample (the watcher stalled or stopped)"))
            blind_since = None
        last = row.t
    if blind_since is not None and end - blind_since >= limit_s:
        stretches.append((blind_since, end, why))
    elif blind_since is None and end - last >= limit_s:
        stretches.append((last, end, "no sample (the watcher stopped)"))
    return stretches


def guardrail_held(guardrail: Guardrail, samples: pd.DataFrame, watched: Window | None,
                   halted: dict | None = None) -> Verdict:
    """samples: the watcher's rows of this guardrail (t, value, blind), in time order; watched:
    from the method's start to the rollbacks' start (or the halt); halted: the `halted` event if
    this guardrail halted the run."""
    expected, subject = f"never {guardrail.expr}", guardrail.expr
    if watched is None:
        return inconclusive(CHECK, expected, "the method never started: nothing was watched", subject=subject)
    if samples.empty:
        return inconclusive(CHECK, expected, "the watcher recorded no sample (see guardrails.out)", watched,
                            subject=subject)
    streak, crossing = Streak(guardrail), None
    for row in samples.itertuples():
        crossing = streak.observe(row.t, None if pd.isna(row.value) else float(row.value))
        if crossing:
            break
    if crossing is None and halted:  # the watcher saw it live; trust what it saw
        crossing = Crossing(halted["since"], halted["at"], halted["worst"])
    if crossing:
        return _crossed(guardrail, samples, watched, crossing, halted)
    blind = blind_stretches(samples, watched, guardrail.blind_limit_s)
    if blind:
        start, end, why = max(blind, key=lambda b: b[1] - b[0])
        return inconclusive(CHECK, expected, f"blind for {end - start:.0f} s from {_clock(start)} UTC ({why}): "
                            f"long enough to hide a crossing; {len(blind)} such stretch(es)", watched,
                            evidence={"blind": [[round(s, 3), round(e, 3), w] for s, e, w in blind]}, subject=subject)
    values = samples.value.dropna().astype(float)
    worst = values.max() if guardrail.condition.op.startswith(">") else values.min()
    held = (f"past the limit for {streak.longest_s:.0f} s at most, not the {guardrail.for_s:.0f} s that cross it; "
            f"worst: " if guardrail.condition.holds(worst) else "never past the limit; closest: ")
    return judged(CHECK, True, expected, f"{held}{guardrail.describe(worst)} ({len(values)} samples over "
                  f"{watched.seconds:.0f} s)", watched, evidence={"closest": worst, "samples": len(values),
                                                                  "longest_past_limit_s": streak.longest_s},
                  subject=subject)


def _crossed(guardrail: Guardrail, samples: pd.DataFrame, watched: Window, crossing: Crossing,
             halted: dict | None) -> Verdict:
    shown = samples[(samples.t >= crossing.since - EVIDENCE_MARGIN_S) & (samples.t <= crossing.at)]
    observed = (f"{guardrail.describe(crossing.worst)} (worst), crossed for {crossing.held_s:.0f} s from "
                f"{_clock(crossing.since)} UTC" + ("; it halted the game day" if halted else ""))
    return judged(CHECK, False, f"never {guardrail.expr}", observed, watched,
                  evidence={"series": [[round(r.t, 3), None if pd.isna(r.value) else r.value] for r in shown.itertuples()],
                            "limit": guardrail.condition.limit},
                  reason="the stack was harmed beyond what the experiment allows", subject=guardrail.expr,
                  crossed_after_s=round(crossing.since - watched.start.timestamp(), 1), held_s=crossing.held_s,
                  halted=bool(halted))
