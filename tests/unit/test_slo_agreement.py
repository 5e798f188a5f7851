"""slo_agreement: the client's and the server's error ratios, side by side."""

from core.verdict import Window
from probes.slo import slo_agreement

WINDOW = Window.from_epoch(1_800_000_000, 1_800_000_300)


def test_close_ratios_agree():
    verdict = slo_agreement(1000, 17, 990.0, 15.0, WINDOW)
    assert verdict.status == "pass" and verdict.observed == "client 1.70% vs server 1.52%"


def test_failures_the_server_never_saw_are_named():
    verdict = slo_agreement(2411, 48, 2411.0, 0.0, WINDOW)
    assert verdict.status == "fail" and "failures it never saw" in verdict.reason


def test_one_silent_side_is_inconclusive():
    assert slo_agreement(0, 0, 100.0, 0.0, WINDOW).status == "inconclusive"
    assert slo_agreement(100, 0, None, 0.0, WINDOW).status == "inconclusive"
