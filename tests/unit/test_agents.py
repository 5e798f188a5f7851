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


def test_a_partition_exempts_the_agent_first_and_cuts_every_api_server_both_ways_in_its_family():
    from agent.host import partition_rules
    from core.agents import AGENT_CONNMARK, AGENT_GID
    rules = partition_rules([["172.18.0.2", 6443], ["fc00:f853:ccd:e793::2", 6443]], ["172.18.0.4", "10.244.2.0/24"])
    for tool in ("iptables", "ip6tables"):  # the agent's own connections pass before any DROP: they carry its Lease
        assert rules[tool]["O"][:2] == [["-m", "owner", "--gid-owner", str(AGENT_GID), "-j", "CONNMARK", "--set-mark",
                                         AGENT_CONNMARK], ["-m", "owner", "--gid-owner", str(AGENT_GID), "-j", "RETURN"]]
        assert rules[tool]["I"][0] == ["-m", "connmark", "--mark", AGENT_CONNMARK, "-j", "RETURN"]
    v4, v6 = rules["iptables"], rules["ip6tables"]
    assert ["-d", "172.18.0.2", "-p", "tcp", "--dport", "6443", "-j", "DROP"] in v4["O"]
    assert ["-s", "172.18.0.2", "-j", "DROP"] in v4["I"]
    assert ["-d", "fc00:f853:ccd:e793::2", "-p", "tcp", "--dport", "6443", "-j", "DROP"] in v6["O"]
    assert not any("fc00" in " ".join(rule) for rule in v4["O"] + v4["I"] + v4["F"])
    for peer in ("172.18.0.4", "10.244.2.0/24"):
        assert ["-d", peer, "-j", "DROP"] in v4["F"] and ["-s", peer, "-j", "DROP"] in v4["I"]
    alone = partition_rules([["172.18.0.2", 6443]], [])
    assert list(alone) == ["iptables"] and not any("172.18.0.4" in rule for rules_ in alone["iptables"].values()
                                                   for rule in rules_)
