"""deploy/rbac is enough and no more: as its ServiceAccount (a token, the way an in-cluster
CronJob would authenticate) a drain game day runs without one refused call, while Secrets,
deletes beyond pods, and kube-system stay out of reach; and nothing the run keeps holds the
token or any other credential."""

import os
import subprocess
import sys

import pytest
import yaml

from core.verdict import Verdict
from edge.rundir import RunDir
from tests.gameday.findings import SEED_FINDINGS, unexpected
from tests.integration.local import REPO
from tests.kube import CONTEXT, CREDENTIALS, kubectl

pytestmark = pytest.mark.cluster  # every test here needs the kind cluster

SA = "system:serviceaccount:gameday:kube-gameday"
AS_SA = f"{CONTEXT}-as-kube-gameday"
ALLOWED = [("get", "pods", "gameday"), ("delete", "pods", "gameday"), ("create", "pods/eviction", "gameday"),
           ("patch", "deployments", "gameday"), ("update", "deployments", "gameday"),
           ("patch", "deployments/scale", "gameday"), ("watch", "poddisruptionbudgets", "gameday"),
           ("get", "horizontalpodautoscalers", "gameday"), ("patch", "nodes", None), ("list", "pods", None),
           ("get", "namespaces", None), ("list", "namespaces", None), ("get", "services", "gameday"),
           ("create", "pods", "kube-gameday-agents"), ("delete", "pods", "kube-gameday-agents"),
           ("get", "pods/log", "kube-gameday-agents"),
           ("create", "leases", "kube-gameday-agents"), ("patch", "leases", "kube-gameday-agents"),
           ("get", "endpointslices:kubernetes", "default"), ("list", "endpointslices", "gameday"),
           ("list", "statefulsets", "gameday")]
DENIED = [("get", "secrets", "gameday"), ("list", "secrets", None), ("delete", "deployments", "gameday"),
          ("delete", "nodes", None), ("create", "pods/eviction", "kube-system"), ("delete", "pods", "kube-system"),
          ("patch", "deployments", "monitoring"), ("create", "pods", "gameday"), ("get", "configmaps", "gameday"),
          ("delete", "services", "gameday"), ("create", "leases", "gameday"), ("patch", "statefulsets", "gameday"),
          ("create", "pods/exec", "kube-gameday-agents"), ("list", "endpointslices", "default"),
          ("get", "endpointslices:other", "default"), ("create", "namespaces", None), ("delete", "namespaces", None)]


@pytest.fixture(scope="module")
def as_service_account(tmp_path_factory):
    """A kubeconfig and stack file that reach the cluster as the suite's ServiceAccount."""
    kubectl("apply", "-k", str(REPO / "deploy" / "rbac"))
    token = kubectl("create", "token", "kube-gameday", "-n", "gameday", "--duration", "1h").strip()
    config = yaml.safe_load(kubectl("config", "view", "--raw", "--minify", "--context", CONTEXT))
    config["users"] = [{"name": "kube-gameday", "user": {"token": token}}]
    config["contexts"][0].update(name=AS_SA, context={**config["contexts"][0]["context"], "user": "kube-gameday"})
    config["current-context"] = AS_SA
    here = tmp_path_factory.mktemp("as-sa")
    (here / "kubeconfig").write_text(yaml.safe_dump(config))
    stack = yaml.safe_load((REPO / "stack.yaml").read_text())
    (here / "stack.yaml").write_text(yaml.safe_dump({**stack, "kube_context": AS_SA}))
    yield here, token
    kubectl("delete", "-k", str(REPO / "deploy" / "rbac"), "--ignore-not-found")


def can_i(verb: str, resource: str, ns: str | None) -> bool:
    """resource: TYPE, TYPE/SUBRESOURCE, or TYPE:NAME for one object (kubectl's TYPE/NAME)."""
    scope = ["-n", ns] if ns else ["--all-namespaces"] if resource == "pods" else []
    if ":" in resource:
        what = [resource.replace(":", "/")]
    else:
        resource, _, sub = resource.partition("/")
        what = [resource, *([f"--subresource={sub}"] if sub else [])]
    return kubectl("auth", "can-i", verb, *what, *scope, f"--as={SA}", check=False).strip() == "yes"


@pytest.mark.parametrize("verb,resource,ns", ALLOWED)
def test_what_the_suite_calls_is_allowed(as_service_account, verb, resource, ns):
    assert can_i(verb, resource, ns)


@pytest.mark.parametrize("verb,resource,ns", DENIED)
def test_nothing_else_is(as_service_account, verb, resource, ns):
    assert not can_i(verb, resource, ns)


def test_a_drain_game_day_runs_as_the_service_account_and_keeps_no_credential(as_service_account, run_dir):
    here, token = as_service_account
    out_dir = run_dir / "drain-as-service-account"
    env = {**os.environ, "KUBECONFIG": str(here / "kubeconfig")}
    run = subprocess.run([sys.executable, "-m", "gameday.cli", "run", "node-drain-respects-pdb", "--stack",
                          str(here / "stack.yaml"), "--allow-context", AS_SA, "--run-dir", str(out_dir)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    record = yaml.safe_load((out_dir / "verdicts.json").read_text())
    assert not record["error"], record["error"] + run.stdout[-2000:]
    # the CI subset's node-drain game day is this run: judged as every game day on the seed stack is
    verdicts = [Verdict(v["check"], v["status"], v["expected"], v["observed"], reason=v.get("reason", ""),
                        subject=v.get("subject", ""), after=v.get("after", "")) for v in RunDir(out_dir).record["verdicts"]]
    problems = unexpected(verdicts, SEED_FINDINGS["node-drain-respects-pdb"])
    assert not problems, "\n".join(problems) + f"\nartifacts: {out_dir}"
    assert (out_dir / "report.html").exists()
    refused = [line for f in out_dir.rglob("*") if f.is_file() for line in f.read_text(errors="replace").splitlines()
               if "Forbidden" in line or '"code":403' in line.replace(" ", "")]
    assert not refused, refused[:5]
    drain = next(v for v in record["verdicts"] if v["check"] == "drain_completed")
    assert drain["evidence"]["evicted"], "the drain evicted pods as the ServiceAccount"
    leaks = [str(f) for f in out_dir.rglob("*") if f.is_file()
             if token in f.read_text(errors="replace") or CREDENTIALS.search(f.read_text(errors="replace"))]
    assert not leaks, f"credentials in the run's artifacts: {leaks}"
