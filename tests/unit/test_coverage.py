"""Holes in the evidence: a source silent for longer than it may be is a hole, and a verdict
that passed on that source is inconclusive with the hole named; a fail stays a fail."""

from core.verdict import FAIL, INCONCLUSIVE, PASS, Verdict
from gameday.coverage import Hole, holes
from gameday.judge import with_coverage

T0 = 1_800_000_000


def test_a_silence_longer_than_allowed_is_a_hole_also_at_the_edges():
    every_second = [T0 + s for s in range(60)]
    assert holes("readiness", every_second, T0, T0 + 59) == []
    gap = [t for t in every_second if not T0 + 20 <= t < T0 + 32]
    assert holes("readiness", gap, T0, T0 + 59) == [Hole("readiness", T0 + 19, T0 + 32)]
    died = [t for t in every_second if t < T0 + 30]
    assert holes("load", died, T0, T0 + 59) == [Hole("load", T0 + 29, T0 + 59)]
    assert holes("prometheus", [], T0, T0 + 59) == [Hole("prometheus", T0, T0 + 59)]
    assert "prometheus has no data from" in str(Hole("prometheus", T0, T0 + 59)) and "(59 s)" in str(Hole("prometheus", T0, T0 + 59))


class RunWithHoles:
    """The one method with_coverage asks of a Run: its holes per source."""

    def __init__(self, **by_source):
        self.by_source = by_source

    def holes(self, source):
        return self.by_source.get(source, [])


def verdict(check, status=PASS, subject=""):
    return Verdict(check, status, "x", "y", subject=subject)


def test_a_pass_on_a_source_with_a_hole_is_inconclusive_and_says_where():
    run = RunWithHoles(prometheus=[Hole("prometheus", T0, T0 + 40)])
    judged = with_coverage(run, verdict("slo_server", subject="error_ratio"))
    assert judged.status == INCONCLUSIVE and "passed on data with a hole in it: prometheus has no data" in judged.reason
    assert with_coverage(run, verdict("slo_client", subject="p95")).status == PASS          # the load has no hole
    assert with_coverage(run, verdict("slo_server", FAIL, "p95")).status == FAIL            # a seen failure stands
    assert with_coverage(run, verdict("alert_fired", subject="NodeDown")).status == PASS    # seen firing is seen
    assert with_coverage(run, verdict("no_unexpected_critical_alert")).status == INCONCLUSIVE


def test_a_fail_that_means_nothing_was_seen_is_inconclusive_on_a_hole():
    """"never fired" while Prometheus was blind, "not recovered" while the sampler was: no finding."""
    run = RunWithHoles(prometheus=[Hole("prometheus", T0, T0 + 40)], readiness=[Hole("readiness", T0, T0 + 40)],
                       load=[Hole("load", T0, T0 + 40)])
    for check in ("alert_fired", "failover_recovered", "longest_outage", "slo_agreement", "alert_can_fire"):
        judged = with_coverage(run, verdict(check, FAIL))
        assert judged.status == INCONCLUSIVE and "failed on data with a hole in it" in judged.reason, check
    for check in ("pdb_respected", "failed_requests", "alert_resolved"):  # what they failed on was seen
        assert with_coverage(run, verdict(check, FAIL)).status == FAIL, check
    assert with_coverage(RunWithHoles(), verdict("alert_fired", FAIL)).status == FAIL  # no hole: the fail stands


def test_a_hole_outside_the_verdicts_window_does_not_matter():
    from core.verdict import Window
    run = RunWithHoles(readiness=[Hole("readiness", T0 + 100, T0 + 120)])
    before = Verdict("failover_recovered", PASS, "x", "y", Window.from_epoch(T0, T0 + 90), subject="api")
    across = Verdict("failover_recovered", PASS, "x", "y", Window.from_epoch(T0 + 50, T0 + 150), subject="api")
    assert with_coverage(run, before).status == PASS and with_coverage(run, across).status == INCONCLUSIVE
