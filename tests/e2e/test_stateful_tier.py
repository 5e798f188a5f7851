"""The seeds' stateful tier as `make deploy` leaves it: PostgreSQL under Patroni with one leader
behind postgres-primary and streaming replicas (one synchronous) behind postgres-replica, a pod
that comes back to its own volume, the Redis Cluster's 3 masters with a replica each, and
Prometheus seeing both."""

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from edge.stack import load_stack
from tests.kube import kubectl
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster

SEED = load_stack()
NAMESPACE = SEED.namespace
PROMETHEUS = SEED.prometheus_url


def postgres_pods() -> list[dict]:
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", "app=postgres", "-o", "json"))["items"]
    return [{"name": p["metadata"]["name"], "uid": p["metadata"]["uid"], "role": p["metadata"]["labels"].get("role", ""),
             "ip": p["status"].get("podIP", ""), "node": p["spec"].get("nodeName", ""),
             "ready": any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))}
            for p in pods]


def settled() -> dict | None:
    """The leader and its replicas once every pod is ready with a role, else None."""
    pods = postgres_pods()
    leaders = [p for p in pods if p["role"] == "master"]
    replicas = [p for p in pods if p["role"] == "replica"]
    if len(pods) == 3 and len(leaders) == 1 and len(replicas) == 2 and all(p["ready"] for p in pods):
        return {"leader": leaders[0], "replicas": replicas}
    return None


def psql(pod: str, sql: str, host: str = "/tmp", user: str = "postgres", db: str = "postgres") -> str:
    """psql inside a pod of the tier; the app user's password from the pod's own environment."""
    env = 'PGPASSWORD="$APP_PASSWORD" ' if user != "postgres" else ""
    return kubectl("-n", NAMESPACE, "exec", pod, "--", "sh", "-c",
                   f'{env}psql -X -At -v ON_ERROR_STOP=1 -h {host} -U {user} -d {db} -c "{sql}"').strip()


def service_addresses(service: str) -> set[str]:
    slices = json.loads(kubectl("-n", NAMESPACE, "get", "endpointslices", "-l",
                                f"kubernetes.io/service-name={service}", "-o", "json"))["items"]
    return {a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]
            if (e.get("conditions") or {}).get("ready", True)}


def streaming(leader: str) -> dict[str, str]:
    """standby name -> sync_state, of the standbys streaming from the leader."""
    rows = psql(leader, "select application_name, sync_state from pg_stat_replication where state = 'streaming'")
    return dict(line.split("|") for line in rows.splitlines() if line)


def redis(pod: str, *args: str) -> str:
    return kubectl("-n", NAMESPACE, "exec", pod, "-c", "redis", "--", "redis-cli", *args)


def prometheus(query: str) -> list[dict]:
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


@pytest.fixture(scope="module")
def tier():
    return wait_until(settled, 180, what="one PostgreSQL leader and two ready replicas (run `make deploy`)")


def test_postgres_primary_is_the_leader_and_a_synchronous_standby_streams(tier):
    leader, replicas = tier["leader"], tier["replicas"]
    assert service_addresses("postgres-primary") == {leader["ip"]}
    assert service_addresses("postgres-replica") == {r["ip"] for r in replicas}
    states = wait_until(lambda: (s := streaming(leader["name"])) and len(s) == 2 and s, 60,
                        what="both replicas streaming from the leader")
    assert sorted(states.values()) == ["async", "sync"], states   # synchronous_mode: one sync standby
    assert {r["name"] for r in replicas} == set(states)


def test_a_write_through_postgres_primary_is_read_through_postgres_replica(tier):
    reader = tier["replicas"][0]["name"]
    marker = f"e2e-{time.time_ns()}"
    app = {"user": "app", "db": "progressive_framework_v5"}
    psql(reader, "create table if not exists e2e_markers (id text primary key)", host="postgres-primary", **app)
    assert psql(reader, f"insert into e2e_markers values ('{marker}') returning id", host="postgres-primary",
                **app).splitlines()[0] == marker
    found = wait_until(lambda: psql(reader, f"select count(*) from e2e_markers where id = '{marker}'",
                                    host="postgres-replica", **app) == "1", 30, interval=0.5,
                       what=f"{marker} on the replicas")
    assert found is True
    with pytest.raises(AssertionError, match="read-only transaction"):
        psql(reader, f"insert into e2e_markers values ('{marker}-2')", host="postgres-replica", **app)


def test_a_deleted_replica_comes_back_to_its_own_volume_and_streams_again(tier):
    replica = tier["replicas"][0]
    claim = f"postgres-storage-{replica['name']}"
    volume = kubectl("-n", NAMESPACE, "get", "pvc", claim, "-o", "jsonpath={.spec.volumeName}")
    before = psql(replica["name"], "select pg_postmaster_start_time()")
    started = time.monotonic()
    kubectl("-n", NAMESPACE, "delete", "pod", replica["name"], "--wait=false")
    def streaming_again():
        s = settled()
        replaced = s and any(p["name"] == replica["name"] and p["uid"] != replica["uid"] for p in s["replicas"])
        return replaced and replica["name"] in streaming(s["leader"]["name"]) and s
    back = wait_until(streaming_again, 120, interval=1, what=f"{replica['name']} replaced and streaming again")
    print(f"{replica['name']} streaming again {time.monotonic() - started:.1f} s after its deletion")
    assert kubectl("-n", NAMESPACE, "get", "pvc", claim, "-o", "jsonpath={.spec.volumeName}") == volume
    again = next(p for p in back["replicas"] if p["name"] == replica["name"])
    assert again["node"] == replica["node"]                     # a local volume: its node
    assert psql(replica["name"], "select pg_postmaster_start_time()") != before
    # the same data directory, not a copy taken anew from the leader
    assert "bootstrap from leader" not in kubectl("-n", NAMESPACE, "logs", replica["name"])


def test_redis_cluster_has_three_masters_each_with_a_replica_and_every_slot(tier):
    info = redis("redis-cluster-0", "cluster", "info")
    assert "cluster_state:ok" in info and "cluster_slots_ok:16384" in info, info
    nodes = [line.split() for line in redis("redis-cluster-0", "cluster", "nodes").splitlines()]
    masters = {n[0] for n in nodes if "master" in n[2]}
    replicated = [n[3] for n in nodes if "slave" in n[2]]
    assert len(masters) == 3 and sorted(replicated) == sorted(masters), nodes
    key = f"e2e:{time.time_ns()}"
    assert redis("redis-cluster-0", "-c", "set", key, "v").strip() == "OK"
    assert redis("redis-cluster-5", "-c", "get", key).strip() == "v"   # wherever its slot lives


def test_prometheus_scrapes_patroni_and_the_redis_exporters(tier):
    def seen():
        leaders = prometheus(f'sum(patroni_master{{namespace="{NAMESPACE}"}})')
        ok = prometheus(f'count(redis_cluster_state{{namespace="{NAMESPACE}"}} == 1)')
        return leaders and ok and (float(leaders[0]["value"][1]), float(ok[0]["value"][1]))
    assert wait_until(seen, 60, what="patroni_master and redis_cluster_state in Prometheus") == (1.0, 6.0)


# ---- the seeds' stateful tier as written (tests/gameday/seed-findings.yaml, divergences) ----

SEED_DOCUMENT = next((Path(__file__).resolve().parents[3] / "shared/seeds").glob("000_*.txt"))


def seed_manifests(heading: str) -> list[dict]:
    """The YAML documents of the seed's fenced block under `heading` (e.g. "PostgreSQL StatefulSet")."""
    text = SEED_DOCUMENT.read_text()
    block = text[text.index(heading):]
    block = block[block.index("```yaml") + len("```yaml"):]
    return [d for d in yaml.safe_load_all(block[:block.index("```")]) if d]


def test_the_api_server_refuses_the_seeds_postgres_statefulset_as_written():
    """`storage: 100Gi` among the container's resource requests: not a container resource."""
    statefulset = next(d for d in seed_manifests("PostgreSQL StatefulSet") if d["kind"] == "StatefulSet")
    statefulset["metadata"].update(namespace=NAMESPACE, name="postgres-seed-as-written")  # not ours: a creation
    refused = subprocess.run(["kubectl", "--context", SEED.kube_context, "apply", "--dry-run=server", "-f", "-"],
                             input=yaml.safe_dump(statefulset), capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "must be a standard resource for containers" in refused.stderr, refused.stderr
    statefulset["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].pop("storage")
    accepted = subprocess.run(["kubectl", "--context", SEED.kube_context, "apply", "--dry-run=server", "-f", "-"],
                              input=yaml.safe_dump(statefulset), capture_output=True, text=True, timeout=60)
    assert accepted.returncode == 0, accepted.stderr    # that, and only that, is what it refuses


def test_the_seeds_postgres_primary_selector_matches_no_pod_of_a_patroni_tier(tier):
    service = next(d for d in seed_manifests("PostgreSQL StatefulSet")
                   if d["kind"] == "Service" and d["metadata"]["name"] == "postgres-primary")
    selector = ",".join(f"{k}={v}" for k, v in service["spec"]["selector"].items())
    assert selector == "app=postgres,role=primary"
    assert kubectl("-n", NAMESPACE, "get", "pods", "-l", selector, "-o", "name") == ""
    assert kubectl("-n", NAMESPACE, "get", "pods", "-l", "app=postgres,role=master", "-o", "name").strip() == \
        f"pod/{tier['leader']['name']}"
