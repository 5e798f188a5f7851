"""A verdict that cannot fail proves nothing. Here the stack is given a defect on purpose, named
in each test, and a game day must notice: the matching verdicts fail, for that reason. Fixed (the
overlapping PDB removed), the seed stack's known drain finding goes away. deploy/stack is applied
again afterwards, whatever happened; a fault or rule a test added is taken away.

The HPA's defects need minutes of load and scaling each, the kubelet-stop one waits for a 5 min
alert, the agent-latency one holds its delay 3 min, the seeds' network policy runs a whole game day
(its verdict also fails in make test: tests/e2e/test_network_policy.py), the asynchronous replication
one fails a node for a minute, the fixed drain is a whole drain game day more (make test's drain
shows the finding: tests/e2e/test_rbac.py): they are `long` (`make gameday`)."""

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from core.verdict import utc
from tests.alerting import set_extra_rule
from tests.integration.local import REPO
from tests.kube import kubectl
from tests.waiting import wait_until

EXPERIMENTS = REPO / "experiments"


@pytest.fixture
def stack_restored_after(seed_stack):
    """Yields the namespace; re-applies deploy/stack and waits for every Deployment afterwards."""
    yield seed_stack.namespace
    kubectl("apply", "-k", str(REPO / "deploy" / "stack"))
    for deployment in seed_stack.deployments:
        kubectl("rollout", "status", f"deployment/{deployment}", "-n", seed_stack.namespace, "--timeout=300s")


def ready_replicas(ns: str, deployment: str) -> str:
    return kubectl("get", "deployment", deployment, "-n", ns, "-o",
                   "jsonpath={.spec.replicas}/{.status.readyReplicas}")


def by_name(verdicts, prefix: str) -> list:
    return [v for v in verdicts if v.name.startswith(prefix)]


def check(verdicts, name: str):
    """The one verdict named `name`."""
    found, = by_name(verdicts, name)
    return found


@pytest.mark.gameday
@pytest.mark.cluster
def test_one_slow_starting_core_api_replica_fails_pod_kill_and_is_halted(game_day, stack_restored_after):
    """Defect: one core API replica (HPA min = max = 1) whose cache takes 50 s to warm (STARTUP_S,
    within its startup probe's 60 s): the first kill leaves no ready pod, and the experiment's
    guardrail `ready(core-api) < 1 for 20s` halts the game day before its second kill. The
    verdicts judge what was measured until then: no failover within 60 s, the PDB broken,
    requests failed, an outage of the 20 s and more."""
    ns = stack_restored_after
    # above maxReplicas the HPA scales down at once, without its stabilization window
    kubectl("patch", "hpa", "core-api", "-n", ns, "--type=merge", "-p", '{"spec":{"minReplicas":1,"maxReplicas":1}}')
    kubectl("set", "env", "deployment/core-api", "-n", ns, "STARTUP_S=50")
    try:
        kubectl("rollout", "status", "deployment/core-api", "-n", ns, "--timeout=300s")
        wait_until(lambda: ready_replicas(ns, "core-api") == "1/1", timeout=120, what="core-api at 1/1")
        result = game_day(EXPERIMENTS / "pod-kill-under-load.yaml")
    finally:  # `kubectl apply` keeps a variable the manifest never named: take it away by name
        kubectl("set", "env", "deployment/core-api", "-n", ns, "STARTUP_S-")
    assert not result.error, result.error
    assert result.status == "halted" and "'ready(core-api) < 1 for 20s' crossed" in result.halted, \
        (result.status, result.halted)
    halt = check(result.verdicts, "guardrail_held[ready(core-api) < 1 for 20s]")
    assert halt.status == "fail" and halt.details["halted"] and halt.evidence["series"][-1][1] == 0, halt
    errors_held = check(result.verdicts, "guardrail_held[error_ratio > 20% for 30s]")  # 20 s of errors: not 30
    assert errors_held.status == "pass" and errors_held.observed.startswith("past the limit for"), errors_held
    journal = json.loads((result.run_dir / "journal.json").read_text())
    assert [r["activity"]["name"] for r in journal["run"]] == ["kill-an-entry-pod"], "halted before the second kill"
    assert check(result.verdicts, "pdb_respected[core-api]").status == "fail"
    failover = check(result.verdicts, "failover_recovered[core-api] after kill-an-entry-pod")
    assert failover.status == "fail" and failover.details["lowest_ready"] == 0, failover
    assert check(result.verdicts, "failed_requests").status == "fail"
    # the killed pod serves out its 5 s drain (DRAIN_S), then nothing answers until the halt, 20 s
    # after readiness fell to 0: 15 s, give or take the timeline's 1 s seconds (measured 14 and 15)
    outage = check(result.verdicts, "longest_outage")
    assert outage.status == "fail" and outage.details["longest_outage_s"] >= 13, outage
    errors = check(result.verdicts, "slo_client[error_ratio]")
    assert errors.status == "fail" and errors.evidence["failures"] > 0, errors
    report = (result.run_dir / "report.html").read_text()
    assert "<strong>Halted:</strong> guardrail" in report and "Guardrail: ready(core-api) &lt; 1 for 20s" in report
    junit = (result.run_dir / "junit.xml").read_text()
    assert "halted: guardrail" in junit and "guardrail_held[ready(core-api) &lt; 1 for 20s]" in junit


@contextmanager
def core_api_latency(ns: str, latency_ms: int, seconds: int):
    """Every core API pod answers latency_ms late (its /admin/faults, set from inside the pod)."""
    def set_faults(method: str, body: dict | None):
        code = ("import json, urllib.request; urllib.request.urlopen(urllib.request.Request("
                f"'http://127.0.0.1:8080/admin/faults', data={json.dumps(json.dumps(body)) if body else None}"
                f"{'.encode()' if body else ''}, headers={{'Content-Type': 'application/json'}}, method='{method}'))")
        for pod in kubectl("get", "pods", "-n", ns, "-l", "app=core-api", "-o", "name").split():
            kubectl("exec", "-n", ns, pod, "--", "python3", "-c", code)
    set_faults("POST", {"latency_ms": latency_ms, "duration_s": seconds})
    try:
        yield
    finally:
        set_faults("DELETE", None)


INVERTED_RULE = "CoreAPIDown"


@contextmanager
def inverted_critical_rule(prometheus_url: str):
    """A critical alert written the wrong way round: `== 1` where `== 0` was meant, so it pages
    while the core API is up."""
    set_extra_rule("inverted.yaml", f"""groups:
  - name: written-the-wrong-way-round
    rules:
      - alert: {INVERTED_RULE}
        expr: up{{namespace="gameday", app="core-api"}} == 1
        labels: {{severity: critical}}
""")
    try:
        wait_until(lambda: any(a["labels"]["alertname"] == INVERTED_RULE and a["state"] == "firing" for a in
                               requests.get(f"{prometheus_url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]),
                   timeout=60, interval=1, what=f"{INVERTED_RULE} firing")
        yield
    finally:
        set_extra_rule("inverted.yaml", None)


def steady_load_experiment(tmp_path, verdicts: list[dict]) -> Path:
    """The pod-kill game day's load, hypothesis and target with no fault: a 40 s wait, judged by `verdicts`."""
    experiment = yaml.safe_load((EXPERIMENTS / "pod-kill-under-load.yaml").read_text())
    experiment["method"] = [{**experiment["steady-state-hypothesis"]["probes"][1], "name": "keep-the-load-on",
                             "pauses": {"after": 40}}]
    experiment["extensions"] = [{"name": "kube-gameday", "verdicts": verdicts}]
    path = tmp_path / "steady-load.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


@pytest.mark.gameday
@pytest.mark.cluster
def test_a_slow_core_api_and_an_inverted_critical_rule_fail_slos_and_the_alert_check(game_day, seed_stack, tmp_path):
    """Defects: every core API response 1.5 s late (a dependency gone slow), and a critical rule
    that fires while all is well. Clients and the server both see p95 over the SLO's 1 s; the
    experiment expects no alert, so the page is unexpected."""
    experiment = steady_load_experiment(tmp_path, [{"check": "slo_client"}, {"check": "slo_server"},
                                                   {"check": "no_unexpected_critical_alert"}])
    with core_api_latency(seed_stack.namespace, 1500, 300), inverted_critical_rule(seed_stack.prometheus_url):
        result = game_day(experiment)
    assert not result.error, result.error
    for side in ("slo_client[p95]", "slo_server[p95]"):
        verdict = check(result.verdicts, side)
        assert verdict.status == "fail" and verdict.evidence["value"] >= 1.0, verdict
    alerts = check(result.verdicts, "no_unexpected_critical_alert")
    assert alerts.status == "fail" and INVERTED_RULE in alerts.reason, alerts


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_drain_completes_once_pdbs_do_not_overlap(game_day, stack_restored_after):
    ns = stack_restored_after
    kubectl("delete", "pdb", "agents", "-n", ns)
    # PDB mca's status may be from before (when its pods were selected by two PDBs, pod changes
    # re-synced only one of them) and refuse every eviction until an MCA pod changes: CI failed on
    # that once. Two updates of the PDB make the disruption controller re-sync it now.
    kubectl("annotate", "pdb", "mca", "-n", ns, "--overwrite", "kube-gameday/resync=1")
    kubectl("annotate", "pdb", "mca", "-n", ns, "kube-gameday/resync-")
    wait_until(lambda: kubectl("get", "pdb", "mca", "-n", ns, "-o", "jsonpath={.status.disruptionsAllowed}") not in ("", "0"),
               timeout=60, what="PDB mca to allow a disruption")
    result = game_day(EXPERIMENTS / "node-drain-respects-pdb.yaml")
    assert not result.error, result.error
    drain, = by_name(result.verdicts, "drain_completed")
    assert drain.status == "pass" and not drain.evidence["left"], f"{drain.status}: {drain.reason}"  # reason: why each pod stayed
    for name in ("pdbs_disjoint", "pdb_respected[core-api]", "pdb_respected[mca]", "failover_recovered",
                 "longest_outage"):
        verdict, = by_name(result.verdicts, name)
        assert verdict.status == "pass", f"{verdict.name} {verdict.status}: {verdict.observed}; {verdict.reason}"
    # the stack still names the PDB it no longer has: a finding about the stack, not missing data
    agents = check(result.verdicts, "pdb_respected[agents]")
    assert agents.status == "fail" and "names PDB agents; there is none" in agents.reason, agents
    present = check(result.verdicts, "stack_present")
    assert present.status == "fail" and present.observed == "absent: PDB agents", present


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
@pytest.mark.parametrize("experiment,method", [("node-failure-failover", "kubelet-stop"),
                                               ("node-partition-failover", "")],
                         ids=["kubelet-stop", "node-partition"])
def test_pods_tolerating_an_unreachable_node_for_5_min_fail_a_node_agents_failover(game_day, stack_restored_after,
                                                                                 monkeypatch, experiment, method):
    """Defect: the core API tolerates an unreachable or not-ready node for 300 s (Kubernetes'
    default, which this cluster's API server shortens to 30 s; a chart that pins it puts it back):
    with its worker's kubelet stopped, or the worker cut off from the API server, the pod there
    is marked not Ready but not replaced until the node is back, 5 min on. A container stop would
    hide this no better: the eviction is the same."""
    ns = stack_restored_after
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                   for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
    kubectl("patch", "deployment", "core-api", "-n", ns, "--type=merge", "-p",
            json.dumps({"spec": {"template": {"spec": {"tolerations": tolerations}}}}))
    try:
        kubectl("rollout", "status", "deployment/core-api", "-n", ns, "--timeout=300s")
        if method:
            monkeypatch.setenv("GAMEDAY_NODE_FAILURE", method)
        result = game_day(EXPERIMENTS / f"{experiment}.yaml")
    finally:  # deploy/stack names no tolerations, so applying it again would keep these
        kubectl("patch", "deployment", "core-api", "-n", ns, "--type=json",
                "-p", '[{"op": "remove", "path": "/spec/template/spec/tolerations"}]')
    assert not result.error, result.error
    failover = check(result.verdicts, "failover_recovered[core-api]")
    assert failover.status == "fail", f"{failover.observed}; {failover.reason}"
    mca = check(result.verdicts, "failover_recovered[mca]")  # the MCA keeps the cluster's 30 s
    assert mca.status == "pass", f"{mca.observed}; {mca.reason}"


def hpa_experiment(tmp_path, method: list[dict], verdicts: list[dict], profile: dict | None = None) -> Path:
    """The HPA game day's load and hypothesis with this method, judged by `verdicts` (and
    `profile` as its load, when given)."""
    experiment = yaml.safe_load((EXPERIMENTS / "hpa-scale-out.yaml").read_text())
    experiment["method"] = method
    experiment["extensions"] = [{"name": "kube-gameday", "verdicts": verdicts}]
    if profile:
        (tmp_path / "profile.yaml").write_text(yaml.safe_dump(profile))
        experiment["controls"][0]["provider"]["arguments"]["profile"] = str(tmp_path / "profile.yaml")
    path = tmp_path / "hpa.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def wait_for_replicas(at_least: int, timeout_s: float, pause_s: float = 0) -> dict:
    return {"type": "probe", "name": f"wait-for-{at_least}-replicas", "pauses": {"after": pause_s},
            "provider": {"type": "python", "module": "probes.hpa", "func": "wait_for_replicas",
                         "arguments": {"deployment": "core-api", "ns": "${namespace}", "at_least": at_least,
                                       "timeout_s": timeout_s}}}


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_an_hpa_whose_max_is_its_min_fails_to_scale_out(game_day, stack_restored_after, tmp_path):
    """Defect: maxReplicas copied from minReplicas (3): the load crosses the CPU target and the
    core API cannot follow."""
    kubectl("patch", "hpa", "core-api", "-n", stack_restored_after, "--type=merge", "-p", '{"spec":{"maxReplicas":3}}')
    experiment = hpa_experiment(tmp_path, [wait_for_replicas(5, timeout_s=150)],
                                [{"check": "hpa_scaled_out", "hpa": "core-api", "at_least": 5, "within_s": 90}])
    result = game_day(experiment)
    assert not result.error, result.error
    out = check(result.verdicts, "hpa_scaled_out[core-api]")
    assert out.status == "fail" and out.observed == "stayed at 3 replicas", out


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_an_hpa_whose_max_is_its_min_leaves_cpu_pressure_unabsorbed(game_day, stack_restored_after):
    """Defect: the same maxReplicas copied from minReplicas (3), met by CPU pressure inside the
    pods instead of load: utilization stays over target and the core API cannot scale out."""
    kubectl("patch", "hpa", "core-api", "-n", stack_restored_after, "--type=merge", "-p", '{"spec":{"maxReplicas":3}}')
    result = game_day(EXPERIMENTS / "cpu-pressure-core-api.yaml")
    assert not result.error, result.error
    out = check(result.verdicts, "hpa_scaled_out[core-api]")
    assert out.status == "fail" and out.observed == "stayed at 3 replicas", out


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_replicas_reset_behind_the_hpas_back_fail_its_scale_in(game_day, stack_restored_after, tmp_path, seed_stack):
    """Defect: something besides the HPA owns the replica count (a GitOps sync of a manifest that
    sets `replicas: 3`): right after the HPA scaled out for a load spike, the count is put back
    to 3, inside the HPA's 300 s scale-down stabilization window."""
    reset = {"type": "action", "name": "gitops-sync-resets-the-replicas", "pauses": {"after": 30},
             "provider": {"type": "process", "path": "kubectl", "arguments": (
                 f"--context {seed_stack.kube_context} -n {seed_stack.namespace} scale deployment/core-api "
                 "--replicas=3")}}
    spike = {"shape": "spike", "users": 10, "spike_users": 40, "before_s": 20, "spike_s": 100, "after_s": 1800,
             "spawn_rate": 10, "thresholds": ["p95 < 1s", "error_ratio < 5%"]}
    # the reset well after the spike (the HPA scales out again while its last minute of CPU
    # recommendations stays high: seen when the reset came 10 s before the spike's end), and well
    # inside the 300 s scale-down stabilization window after the scale-out
    experiment = hpa_experiment(tmp_path, [wait_for_replicas(4, timeout_s=240, pause_s=150), reset],
                                [{"check": "hpa_scaled_in", "hpa": "core-api"}], spike)
    result = game_day(experiment)
    assert not result.error, result.error
    scaled_in = check(result.verdicts, "hpa_scaled_in[core-api]")
    assert scaled_in.status == "fail" and "inside the stabilization window" in scaled_in.reason, scaled_in


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_a_core_api_that_waits_on_its_agents_for_10_s_fails_the_slowest_request(game_day, stack_restored_after):
    """Defect: the core API's agent timeout raised from 2 s to 10 s, met by a 1.5 s ± 0.5 s delay to
    the agents: no plan fails any more, each one waits out the slow network instead, and
    slowest_request names the plans that kept a client waiting past 2.5 s."""
    kubectl("set", "env", "deployment/core-api", "-n", stack_restored_after, "AGENT_TIMEOUT_S=10")
    kubectl("rollout", "status", "deployment/core-api", "-n", stack_restored_after, "--timeout=300s")
    result = game_day(EXPERIMENTS / "agent-latency.yaml")
    assert not result.error, result.error
    slowest = check(result.verdicts, "slowest_request")
    assert slowest.status == "fail" and "took longer than 2.5 s" in slowest.reason, slowest
    assert slowest.details["slowest_s"] > 2.5, slowest


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_the_seeds_network_policy_as_written_shuts_out_the_scrape(game_day, stack_restored_after):
    """Defect: the seeds' webapp-netpol as written (only the front tier may reach the agents, no
    rule for monitoring), on the agents: Prometheus can no longer scrape them. Both looks of
    network-policy-holds fail `reachability` as too closed for that path and no other; the
    traffic itself, which that policy does let through, fails nothing."""
    kubectl("patch", "networkpolicy", "agents-netpol", "-n", stack_restored_after, "--type=json", "-p",
            '[{"op": "remove", "path": "/spec/ingress/1"}]')
    result = game_day(EXPERIMENTS / "network-policy-holds.yaml")
    assert not result.error, result.error
    looks = by_name(result.verdicts, "reachability")
    assert [v.after for v in looks] == ["look-at-the-policy", "look-again-with-the-new-pod"], looks
    for look in looks:
        assert look.status == "fail" and look.details["too_closed"] == 1 and look.details["too_open"] == 0, look
        assert look.reason.startswith("too-closed: monitoring/app=prometheus → mca (expected open)"), look.reason
    assert check(result.verdicts, "failed_requests").status == "pass"


def patroni_config(ns: str, setting: str) -> None:
    """Changes the Patroni cluster's dynamic configuration (kept in its ConfigMap, applied by every
    member), through the leader's patronictl."""
    leader = kubectl("get", "pods", "-n", ns, "-l", "app=postgres,role=master", "-o", "jsonpath={.items[0].metadata.name}")
    kubectl("exec", "-n", ns, leader, "--", "patronictl", "-c", "/etc/patroni/patroni.yml", "edit-config",
            "-s", setting, "--force")


def sync_states(ns: str) -> list[str]:
    leader = kubectl("get", "pods", "-n", ns, "-l", "app=postgres,role=master", "-o", "jsonpath={.items[0].metadata.name}")
    return sorted(kubectl("exec", "-n", ns, leader, "--", "psql", "-h", "/tmp", "-U", "postgres", "-Atc",
                          "select sync_state from pg_stat_replication").split())


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_asynchronous_replication_loses_the_orders_acknowledged_while_the_replicas_were_cut_off(game_day, seed_stack):
    """Defect: PostgreSQL replicating asynchronously (Patroni's synchronous_mode off). The
    replicas are cut off from the leader for 20 s while the writers go on, then the leader's node
    dies: the leader acknowledged those 20 s of orders, no replica has them, and the replica
    promoted lacks them. acknowledged_writes_lost fails naming them (measured: 764 of 2,320 and 740
    of 4,152, every one acknowledged during the cut); with synchronous_mode on (the healthy tier) those commits
    wait for a standby and time out unacknowledged, and none is lost."""
    ns = seed_stack.namespace
    patroni_config(ns, "synchronous_mode=false")
    try:
        wait_until(lambda: sync_states(ns) == ["async", "async"], 60, what="both standbys asynchronous")
        result = game_day(EXPERIMENTS / "postgres-replicas-cut-then-primary-killed.yaml")
    finally:
        patroni_config(ns, "synchronous_mode=true")
        wait_until(lambda: sync_states(ns) == ["async", "sync"], 120, what="a synchronous standby again")
    assert not result.error, result.error
    lost = check(result.verdicts, "acknowledged_writes_lost")
    assert lost.status == "fail" and lost.details["lost"] > 0, lost
    ledger = json.loads("[" + ",".join((result.run_dir / "load/ledger.jsonl").read_text().splitlines()) + "]")
    journal = json.loads((result.run_dir / "journal.json").read_text())
    times = {r["activity"]["name"]: (r["start"], r["end"]) for r in journal["run"]}
    cut_at = utc(times["cut-the-replicas-off-the-primary"][0]).timestamp()
    failed_at = utc(times["fail-the-primarys-node"][0]).timestamp()
    acked = {w["id"]: w["done"] for w in ledger if w["outcome"] == "ack"}
    # the lost orders are exactly some acknowledged while the replicas could not have them
    assert all(cut_at <= acked[i] <= failed_at + 1 for i in lost.details["lost_ids"]), lost.reason


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_replicas_applying_wal_two_seconds_late_fail_stale_reads(game_day, seed_stack, tmp_path):
    """Defect: the replicas replay what they receive 2 s late (recovery_min_apply_delay, a delayed
    standby). A commit waits only for a standby to have it on disk, so the writers' orders are
    acknowledged as fast as before, and every one read back from postgres-replica is missing
    there for ~2 s: stale_reads fails with the lag the clients saw; nothing is lost."""
    ns = seed_stack.namespace
    experiment = yaml.safe_load((EXPERIMENTS / "postgres-primary-killed.yaml").read_text())
    experiment["method"] = [{**experiment["steady-state-hypothesis"]["probes"][1], "name": "keep-the-writers-on",
                             "pauses": {"after": 30}}]
    experiment["extensions"] = [{"name": "kube-gameday", "verdicts": [
        {"check": "stale_reads", "max_lag_s": 1}, {"check": "acknowledged_writes_lost"}]}]
    path = tmp_path / "writes.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    patroni_config(ns, "postgresql.parameters.recovery_min_apply_delay=2s")
    try:
        result = game_day(path)
    finally:
        patroni_config(ns, "postgresql.parameters.recovery_min_apply_delay=0")
    assert not result.error, result.error
    stale = check(result.verdicts, "stale_reads")
    assert stale.status == "fail" and 2 <= stale.details["max_lag_s"] < 5, stale
    assert stale.details["stale"] > 0.9 * stale.details["reads"], stale
    assert check(result.verdicts, "acknowledged_writes_lost").status == "pass"


def redis_node_timeout(ns: str, timeout_ms: int) -> None:
    """cluster-node-timeout on every Redis node (the running value: a restart goes back to redis.conf's)."""
    for pod in kubectl("get", "pods", "-n", ns, "-l", "app=redis-cluster", "-o", "name").split():
        kubectl("exec", "-n", ns, pod, "-c", "redis", "--", "redis-cli", "config", "set", "cluster-node-timeout",
                str(timeout_ms))


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_a_redis_node_timeout_of_15_s_loses_cached_orders_past_the_documented_window(game_day, seed_stack):
    """Defect: cluster-node-timeout raised from 5 s to 15 s (fewer failovers on a flaky network,
    the usual reason). A master cut off from its cluster now goes on acknowledging writes for
    ~15 s before it refuses them, and all of that is dropped when it rejoins as a replica:
    acknowledged_writes_lost[redis-cluster] fails, naming the orders lost past the 10 s that
    the healthy cluster's window takes."""
    ns = seed_stack.namespace
    redis_node_timeout(ns, 15_000)
    try:
        result = game_day(EXPERIMENTS / "redis-master-partitioned.yaml")
    finally:
        redis_node_timeout(ns, 5_000)
    assert not result.error, result.error
    cache = next(v for v in result.verdicts if v.check == "acknowledged_writes_lost" and v.subject == "redis-cluster")
    assert cache.status == "fail" and cache.details["lost"] > 0, cache
    ledger = {w["id"]: w["done"] for w in map(json.loads, (result.run_dir / "load/ledger.jsonl").read_text().splitlines())}
    journal = json.loads((result.run_dir / "journal.json").read_text())
    cut = next(r for r in journal["run"] if r["activity"]["name"] == "cut-a-master-off-its-cluster")
    in_effect = utc(cut["end"]).timestamp()
    assert all(ledger[i] > in_effect + 10 for i in cache.details["lost_ids"]), cache.reason
    database = next(v for v in result.verdicts if v.check == "acknowledged_writes_lost" and v.subject != "redis-cluster")
    assert database.status == "pass", database


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_a_replica_whose_volume_is_on_a_cordoned_node_fails_rejoin_time(game_day, seed_stack):
    """Defect: the node holding a replica's volume is cordoned (for maintenance, say) when the
    replica's pod dies. A local volume pins the pod to that node, so it stays Pending: the group
    runs a member short for as long as the node is cordoned, and rejoin_time fails naming it."""
    ns = seed_stack.namespace
    replicas = kubectl("get", "pods", "-n", ns, "-l", "app=postgres,role=replica", "-o",
                       "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{'\\n'}{end}").split("\n")
    pod, node = sorted(line.split() for line in replicas if line.strip())[0]   # the one kill_pods takes
    kubectl("cordon", node)
    try:
        result = game_day(EXPERIMENTS / "postgres-replica-deleted.yaml")
    finally:
        kubectl("uncordon", node)
        wait_until(lambda: kubectl("get", "statefulset", "-n", ns, "postgres", "-o",
                                   "jsonpath={.status.readyReplicas}") == "3", 180, what="postgres 3/3 ready again")
    assert not result.error, result.error
    rejoin = check(result.verdicts, "rejoin_time")
    assert rejoin.status == "fail" and rejoin.subject == pod and "not back" in rejoin.observed, rejoin
    assert check(result.verdicts, "acknowledged_writes_lost").status == "pass"


@pytest.mark.long
@pytest.mark.gameday
@pytest.mark.cluster
def test_the_seeds_postgres_primary_selector_refuses_every_order(game_day, stack_restored_after):
    """The seeds' version (seed-findings.yaml, divergences): postgres-primary selecting
    `role: primary`, a label no pod of a Patroni 3 tier carries. The Service has no endpoint, so
    every order is refused (503) from the first: the error ratio sinks the steady state before
    any fault, and with no leader to ask, the read-back never answers."""
    ns = stack_restored_after
    kubectl("patch", "service", "postgres-primary", "-n", ns, "-p", '{"spec": {"selector": {"role": "primary"}}}')
    kubectl("rollout", "restart", "deployment/core-api", "-n", ns)  # no connection left from the right selector
    kubectl("rollout", "status", "deployment/core-api", "-n", ns, "--timeout=300s")
    result = game_day(EXPERIMENTS / "postgres-primary-killed.yaml")
    assert not result.error, result.error
    before = check(result.verdicts, "steady_state[before]")
    assert before.status == "fail" and "server-error-ratio-below-5-percent" in before.observed, before
    ledger = [json.loads(line) for line in (result.run_dir / "load/ledger.jsonl").read_text().splitlines()]
    assert ledger and {w["outcome"] for w in ledger} == {"error"}, {w["outcome"] for w in ledger}
    lost = check(result.verdicts, "acknowledged_writes_lost")
    assert lost.status == "inconclusive" and "no read-back" in lost.reason, lost
