"""The node agent's preflight on a real host, this machine, which is no Kubernetes node: entering
PID 1's namespaces is denied here (a sandboxed VM), and where it is not, PID 1 is no systemd or
runs no kubelet unit. Either way the agent refuses its faults, naming what the host lacks,
instead of half-applying them."""

from agent.faults import FAULTS


def test_a_host_that_cannot_stop_a_kubelet_is_refused_with_its_reason():
    why = FAULTS["kubelet-stop"].preflight({})
    assert why, "kubelet-stop allowed on a machine that is no node"
    assert any(lack in why for lack in ("nsenter into PID 1", "not systemd", "kubelet")), why


def test_a_host_whose_network_cannot_be_cut_is_refused_with_its_reason():
    why = FAULTS["node-partition"].preflight({"api_servers": [["127.0.0.1", 6443]]})
    assert why and any(lack in why for lack in ("nsenter into PID 1", "iptables")), why


def test_a_partition_with_no_api_server_to_cut_off_is_refused():
    assert "no API server address" in FAULTS["node-partition"].preflight({"api_servers": []})


def test_netem_is_found_or_refused_as_the_kernel_has_it():
    """The agent tries netem on a scratch network namespace, touching nothing: this machine's
    kernel (and so its kind nodes') has no sch_netem, and the agent says so, naming what still
    works; a kernel with it passes."""
    import gzip
    from agent.pod_faults import netem_supported
    config = gzip.open("/proc/config.gz", "rt").read()
    has_netem = "CONFIG_NET_SCH_NETEM=y" in config or "CONFIG_NET_SCH_NETEM=m" in config
    why = netem_supported()
    if has_netem:
        assert why is None, why
    else:
        assert why and "no netem qdisc (sch_netem)" in why and "loss and drops work" in why, why
