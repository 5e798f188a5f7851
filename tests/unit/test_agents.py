"""The bounds every host fault carries (actions.agents): a deadline and a lease period, checked
before any agent starts."""

import json

import pytest

from actions.agents import check_bounds


@pytest.mark.parametrize("deadline_s,lease_s,wrong", [(0, 10, "deadline_s"), (-5, 10, "deadline_s"), ("60", 10, "deadline_s"),
                                                      (60, 1, "lease_s"), (60, None, "lease_s")])
def test_a_host_fault_without_bounds_that_end_it_is_refused(deadline_s, lease_s, wrong):
    with pytest.raises(ValueError, match=f"^{wrong} must be"):
        check_bounds(deadline_s, lease_s)
    check_bounds(60, 10)  # what the experiments give


def test_a_partition_exempts_the_agent_first_and_cuts_the_api_servers_port_and_addresses_in_both_families():
    from agent.node_faults import partition_rules
    from core.agents import AGENT_CONNMARK, AGENT_GID
    rules = partition_rules([["172.18.0.2", 6443], ["fc00:f853:ccd:e793::2", 6443]], ["172.18.0.4", "10.244.2.0/24"])
    for tool in ("iptables", "ip6tables"):  # the agent's own connections pass before any DROP: they carry its Lease
        assert rules[tool]["O"][:3] == [["-m", "owner", "--gid-owner", str(AGENT_GID), "-j", "CONNMARK", "--set-mark",
                                         AGENT_CONNMARK], ["-m", "owner", "--gid-owner", str(AGENT_GID), "-j", "RETURN"],
                                        ["-p", "tcp", "--dport", "6443", "-j", "DROP"]]  # to any address of it
        assert rules[tool]["I"][0] == ["-m", "connmark", "--mark", AGENT_CONNMARK, "-j", "RETURN"]
    v4, v6 = rules["iptables"], rules["ip6tables"]
    assert ["-s", "172.18.0.2", "-j", "DROP"] in v4["I"] and ["-d", "172.18.0.2", "-j", "DROP"] in v4["F"]
    assert ["-s", "fc00:f853:ccd:e793::2", "-j", "DROP"] in v6["I"]
    assert not any("fc00" in " ".join(rule) for rule in v4["O"] + v4["I"] + v4["F"])
    for peer in ("172.18.0.4", "10.244.2.0/24"):
        assert ["-d", peer, "-j", "DROP"] in v4["O"] and ["-s", peer, "-j", "DROP"] in v4["I"]
    alone = partition_rules([["172.18.0.2", 6443]], [], ["iptables"])
    assert list(alone) == ["iptables"] and not any("172.18.0.4" in " ".join(rule) for rules_ in alone["iptables"].values()
                                                   for rule in rules_)


def test_a_pod_network_fault_loses_packets_both_ways_and_drops_its_destinations():
    from agent.pod_faults import netem_argv, pod_network_rules
    rules = pod_network_rules({"loss_pct": 30, "drop_to": ["10.244.1.5", "10.244.2.0/24:8080"]})
    lose = ["-m", "statistic", "--mode", "random", "--probability", "0.3000", "-j", "DROP"]
    assert rules["O"][0] == lose and rules["I"] == [lose]
    assert ["-d", "10.244.1.5", "-j", "DROP"] in rules["O"]
    assert ["-d", "10.244.2.0/24", "-p", "tcp", "--dport", "8080", "-j", "DROP"] in rules["O"]
    assert pod_network_rules({"loss_pct": 5, "egress_only": True}).keys() == {"O"}
    assert pod_network_rules({"delay_ms": 100}) == {} and netem_argv({"delay_ms": 100, "jitter_ms": 10}) == \
        ["delay", "100ms", "10ms"]
    assert netem_argv({"corrupt_pct": 2}) == ["corrupt", "2%"] and netem_argv({"loss_pct": 5}) == []


def test_a_delay_to_destinations_redirects_new_connections_and_resets_the_open_ones_but_its_own():
    """The pod's new connections to a delayed destination go to the delay line's port; the ones it
    had open there are reset (else they would never be delayed); the line's own connections, in
    the agent's group, pass both; netem is not asked for."""
    from agent.pod_faults import delay_redirects, netem_argv, pod_network_rules
    spec = {"delay_ms": 300, "delay_to": ["10.96.0.20:8080", "10.244.1.7"]}
    exempt = ["-m", "owner", "!", "--gid-owner", "4242"]
    redirects = delay_redirects(spec, 41234)["O"]
    assert redirects[0] == ["-d", "10.96.0.20", "-p", "tcp", "--dport", "8080", *exempt,
                            "-j", "REDIRECT", "--to-ports", "41234"]
    assert redirects[1][:5] == ["-d", "10.244.1.7", "-p", "tcp", "-m"] and redirects[1][-1] == "41234"
    resets = pod_network_rules(spec)["O"]
    assert all(rule[-4:] == ["-j", "REJECT", "--reject-with", "tcp-reset"] and " ".join(exempt) in " ".join(rule)
               for rule in resets) and len(resets) == 2
    assert netem_argv(spec) == []


@pytest.mark.parametrize("numbers,says", [
    (dict(loss_pct=0, drop_to=[], delay_ms=0, corrupt_pct=0), "a disturbance of nothing is no fault"),
    (dict(loss_pct=120, drop_to=[], delay_ms=0, corrupt_pct=0), "lie in 0-100"),
    (dict(loss_pct=0, drop_to=[], delay_ms=-5, corrupt_pct=0), "delay_ms -5 >= 0"),
    (dict(loss_pct="30", drop_to=[], delay_ms=0, corrupt_pct=0), "are numbers"),
    (dict(loss_pct=5, drop_to=[], delay_ms=0, delay_to=["10.96.0.20:8080"], corrupt_pct=0), "a delay of nothing"),
])
def test_a_network_fault_of_nothing_or_out_of_range_is_refused(numbers, says):
    from actions.pod_faults import network_spec
    with pytest.raises(ValueError, match=says):
        network_spec(jitter_ms=0, egress_only=False, **{"delay_to": [], **numbers})


def test_a_pod_on_the_nodes_own_network_is_refused_a_network_fault():
    from kubernetes import client
    from actions.pod_faults import network_refusal
    def pod(host_network):
        return client.V1Pod(metadata=client.V1ObjectMeta(name="p", namespace="gameday"),
                            spec=client.V1PodSpec(containers=[], host_network=host_network))
    assert "no network namespace of its own (hostNetwork)" in network_refusal(pod(True))
    assert network_refusal(pod(False)) is None and network_refusal(pod(None)) is None


def test_an_agent_that_applies_a_fault_needs_its_bounds_and_a_cleanup_agent_does_not(capsys):
    """A cleanup agent (--revert-only) undoes what a gone agent left; it applies nothing, so it
    needs no deadline; an agent that would apply one without its bounds is refused before it
    touches the host or the API."""
    from agent.__main__ import main
    with pytest.raises(SystemExit):
        main(["--fault", "kubelet-stop", "--lease", "gameday-kubelet-stop-abcdef"])
    assert "--deadline-s and --lease-s are required" in capsys.readouterr().err


def test_a_cleanup_agent_is_its_leases_agent_reverting_with_the_spec_the_lease_keeps():
    from actions.agents import _agent_pod
    from core import agents as protocol
    spec = {"pod_uid": "u-1", "delay_ms": 300, "delay_to": ["10.96.0.20:8080"]}
    pod = _agent_pod("gameday-pod-network-abcdef", "gameday-worker", "pod-network", 0, 0, spec, revert_only=True)
    args = pod.spec.containers[0].args
    assert pod.metadata.name == "gameday-pod-network-abcdef" + protocol.CLEANUP_SUFFIX
    assert args[:4] == ["--fault", "pod-network", "--lease", "gameday-pod-network-abcdef"]  # the same tag
    assert "--revert-only" in args and "--deadline-s" not in args and json.loads(args[-1]) == spec
    assert pod.spec.node_name == "gameday-worker" and pod.spec.containers[0].security_context.run_as_group == 4242
