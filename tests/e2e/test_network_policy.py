"""NetworkPolicy enforced on the kind cluster (kube-network-policies, deploy/network-policy) and
seen from inside the pods (probes.reachability, agent.reach): the agents' policy of
deploy/stack holds path by path, with the paths the network-policy-holds game day checks; a
policy that lets in the whole namespace (too open) and the seeds' policy as written, which shuts
out the scrape (too closed), are each a `reachability` fail naming the path, not a crash.
deploy/stack is applied again afterwards, whatever happened."""

import json
from collections import Counter
from datetime import datetime, timezone

import pytest
import yaml

from core.reachability import BLOCKED, OPEN
from gameday.guard import load_allowlist, target_of
from probes.reachability import reachability, reachability_matrix
from tests.integration.local import REPO
from tests.kube import kubectl

EXPERIMENT = REPO / "experiments" / "network-policy-holds.yaml"
PATHS = yaml.safe_load(EXPERIMENT.read_text())["configuration"]["agents_policy"]


@pytest.fixture
def policy_restored_after(seed_stack):
    yield seed_stack.namespace
    kubectl("apply", "-k", str(REPO / "deploy" / "stack"))


def look(seed_stack, paths=PATHS):
    """One matrix through the probe, judged as the game day judges it; the cells' outcomes printed."""
    start = datetime.now(timezone.utc).isoformat()
    output = reachability_matrix(paths, timeout_s=3, configuration=target_of(seed_stack, load_allowlist()).configuration())
    end = datetime.now(timezone.utc).isoformat()
    verdict = reachability({"activity": {"name": "look"}, "status": "succeeded", "output": output,
                            "start": start, "end": end})
    for path in output["paths"]:
        print(f"{path['from']} → {path['to']} ({path['expect']}): "
              f"{dict(Counter(c['outcome'] for c in path['cells']))} {path['missing']}")
    return output, verdict


def test_the_enforcer_runs_on_every_node(apps, core):
    ds = apps.read_namespaced_daemon_set("kube-network-policies", "kube-system").status
    assert ds.number_ready == ds.desired_number_scheduled == len(core.list_node().items), ds


def test_the_agents_policy_holds_seen_from_inside_the_pods(seed_stack):
    output, verdict = look(seed_stack)
    assert verdict.status == "pass", (verdict.observed, verdict.reason)
    cells = {p["expect"]: [c for q in output["paths"] if q["expect"] == p["expect"] for c in q["cells"]]
             for p in output["paths"]}
    assert {c["outcome"] for c in cells[OPEN]} == {OPEN}
    # the enforcer drops what the policy refuses: no answer at all, the connection times out
    assert {c["outcome"] for c in cells[BLOCKED]} == {"timeout"}
    # every MCA pod and the Service's cluster IP were looked at, from every core API pod
    front = next(p for p in output["paths"] if p["from"] == "app=core-api" and p["to"] == "mca")
    assert any(c["to"].startswith("Service ") for c in front["cells"]) and any(c["to"].startswith("pod ") for c in front["cells"])


def test_a_policy_too_open_or_too_closed_is_a_finding(seed_stack, policy_restored_after):
    """Defects: (1) the scrape rule's namespace and pod selectors written as two peers instead
    of one (`- namespaceSelector` and `- podSelector`: either admits, the classic slip): every pod
    of the monitoring namespace reaches the agents; (2) the seeds' policy as written (only the
    front tier, no scrape rule): Prometheus can no longer scrape them."""
    ns = policy_restored_after
    two_peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
                 {"podSelector": {"matchLabels": {"app": "prometheus"}}}]
    kubectl("patch", "networkpolicy", "agents-netpol", "-n", ns, "--type=json", "-p",
            json.dumps([{"op": "replace", "path": "/spec/ingress/1/from", "value": two_peers}]))
    _, too_open = look(seed_stack)
    assert too_open.status == "fail" and too_open.details["too_open"] == 1, (too_open.observed, too_open.reason)
    assert too_open.reason.startswith("too-open: monitoring/app=alertmanager → mca (expected blocked)"), too_open.reason

    kubectl("apply", "-k", str(REPO / "deploy" / "stack"))
    kubectl("patch", "networkpolicy", "agents-netpol", "-n", ns, "--type=json", "-p",
            '[{"op": "remove", "path": "/spec/ingress/1"}]')
    _, too_closed = look(seed_stack)
    assert too_closed.status == "fail" and too_closed.details["too_closed"] == 1, too_closed.reason
    assert too_closed.reason.startswith("too-closed: monitoring/app=prometheus → mca (expected open)"), too_closed.reason


def test_a_path_with_nothing_behind_it_is_recorded_not_probed(seed_stack):
    output, verdict = look(seed_stack, [*PATHS[:1], {"from": "app=no-such-app", "to": "mca", "expect": "open"},
                                        {"from": "app=core-api", "to": "no-such-service", "expect": "blocked"}])
    missing = [p["missing"] for p in output["paths"]]
    assert missing == ["", "from app=no-such-app: no running pod matches",
                       f"to no-such-service: no Service no-such-service in {seed_stack.namespace}"]
    assert verdict.status == "inconclusive", verdict
