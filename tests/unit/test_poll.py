"""Waiting rides out a blip (an API server restarting answers 503, a connection refused) by
polling again, and raises what waiting cannot cure (a 404)."""

import pytest
from kubernetes.client import ApiException

from edge.poll import poll, transient


def flaky(*outcomes):
    """A check that raises or answers each outcome in turn."""
    outcomes = list(outcomes)

    def check():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return check


def test_a_blip_is_polled_through():
    check = flaky(ApiException(status=503), ConnectionRefusedError("refused"), (False, 2), (True, 3))
    assert poll(check, timeout_s=10, waiting_for="replicas", poll_s=0.01)[:2] == (True, 3)


def test_the_time_runs_out_with_the_last_error_named():
    reached, seen, _ = poll(flaky(*[ApiException(status=500)] * 1000), timeout_s=0.05, waiting_for="x", poll_s=0.01)
    assert not reached and seen.startswith("unknown (ApiException") and "retrying" in seen


def test_what_waiting_cannot_cure_is_raised():
    with pytest.raises(ApiException):
        poll(flaky(ApiException(status=404)), timeout_s=10, waiting_for="x", poll_s=0.01)
    assert transient(ApiException(status=429)) and not transient(ApiException(status=403))
