"""The bounds every host fault carries (actions.agents): a deadline and a lease period, checked
before any agent starts."""

import pytest

from actions.agents import check_bounds


@pytest.mark.parametrize("deadline_s,lease_s,wrong", [(0, 10, "deadline_s"), (-5, 10, "deadline_s"), ("60", 10, "deadline_s"),
                                                      (60, 1, "lease_s"), (60, None, "lease_s")])
def test_a_host_fault_without_bounds_that_end_it_is_refused(deadline_s, lease_s, wrong):
    with pytest.raises(ValueError, match=f"^{wrong} must be"):
        check_bounds(deadline_s, lease_s)
    check_bounds(60, 10)  # what the experiments give
