"""Judges a finished run: the verdicts an experiment asks for (its `kube-gameday` extension, each
entry a check of core.checks judged by its function in gameday.checks), plus the steady-state
hypothesis as the journal recorded it. Gate on these, not on `chaos run`'s exit code: a failed
before-hypothesis exits 0. A verdict judged on a source with a hole in it is held to what the
hole could hide (with_coverage)."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from core.checks import CHECKS, GUARDRAIL_HELD, STACK_PRESENT, STEADY_STATE, Asked, NoFields
from core.specs import encode
from core.verdict import FAIL, INCONCLUSIVE, PASS, Verdict, inconclusive, judged
from edge.rundir import RunDir
from edge.stack import Stack
from gameday.checks import JUDGES, Run
from gameday.experiment import asked_checks, guardrails_of


def steady_state(run: Run) -> list[Verdict]:
    verdicts = []
    states = run.dir.journal.get("steady_states") or {}
    for phase in ("before", "after"):
        check, expected = STEADY_STATE.name, "the steady-state hypothesis holds"
        state = states.get(phase)
        if state is None:
            verdicts.append(inconclusive(check, expected, f"the journal has no {phase} hypothesis "
                                         f"(run status {run.dir.journal.get('status')!r})", run.window, subject=phase))
            continue
        failed = [p["activity"]["name"] for p in state.get("probes", []) if not p.get("tolerance_met")]
        verdicts.append(judged(check, bool(state.get("steady_state_met")), expected,
                               "met" if state.get("steady_state_met") else f"not met: {', '.join(failed)}",
                               run.window, evidence=[{"probe": p["activity"]["name"], "output": p.get("output")}
                                                     for p in state.get("probes", [])], subject=phase))
    return verdicts


def with_coverage(run: Run, verdict: Verdict) -> Verdict:
    """A verdict judged on a source that has a hole inside its window: a pass becomes
    inconclusive (the hole could hide what would have failed it) unless its check judged only
    what it saw; a fail stands (seen is seen) unless its check's fail can mean "no data". An
    inconclusive verdict gets the hole added to its reason: likely why the data was missing."""
    check = CHECKS.get(verdict.check)
    if check is None:
        return verdict
    voidable = {PASS: check.hole_voids_pass, FAIL: check.hole_voids_fail, INCONCLUSIVE: True}[verdict.status]
    if not voidable:
        return verdict
    inside = (lambda h: h.end > verdict.window.start.timestamp() and h.start < verdict.window.end.timestamp()) \
        if verdict.window else (lambda h: True)   # a hole outside what the verdict judged does not matter
    found = "; ".join(str(hole) for source in check.sources for hole in run.holes(source) if inside(hole))
    if not found:
        return verdict
    if verdict.status == INCONCLUSIVE:
        return replace(verdict, reason=f"{verdict.reason} ({found})")
    return replace(verdict, status=INCONCLUSIVE, reason=f"{verdict.status}ed on data with a hole in it: {found}")


def judge_run(run_dir: Path, experiment: dict, source: str, stack: Stack) -> Iterator[Verdict]:
    """The verdicts one by one, as each is judged (some query Prometheus)."""
    run_files = RunDir(run_dir)
    handed = run_files.handed or {"namespace": stack.namespace}  # what the run resolved ${...} with
    run = Run(run_files, stack, asked_checks(experiment, source, handed), guardrails_of(experiment, source, handed=handed))
    yield from steady_state(run)
    every_run = [Asked(STACK_PRESENT, NoFields())] + ([Asked(GUARDRAIL_HELD, NoFields())] if run.guardrails else [])
    for entry in every_run + run.asked:
        try:
            yield from (with_coverage(run, v) for v in JUDGES[entry.check.name](run, entry.spec))
        except Exception as err:  # a check that breaks costs its verdict, not the others
            yield inconclusive(entry.check.name, "judged", f"the check failed: {type(err).__name__}: {err}",
                               run.window, evidence=encode(entry.spec))
