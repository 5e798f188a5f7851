"""The reference service on a real server: graceful shutdown (readiness first, in-flight requests
finish), a dependency failure visible to clients and in the metrics, the seeds' metric names."""

import signal
import sys
import threading
import time

import requests

from tests.integration.local import Process, free_port, wait_http
from tests.waiting import wait_until


def start(workdir, name, **env):
    port = free_port()
    proc = Process(name, [sys.executable, "-m", "service"], workdir,
                   {"HOST": "127.0.0.1", "PORT": str(port), **{k.upper(): str(v) for k, v in env.items()}})
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health/ready", proc=proc.proc, log=proc.log)
    return proc, url


def in_flight(url: str) -> float:
    """Requests the service is serving now (its http_requests_in_flight gauge)."""
    lines = requests.get(f"{url}/metrics", timeout=5).text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("http_requests_in_flight{"))


def test_sigterm_turns_not_ready_first_and_finishes_in_flight_requests(workdir):
    proc, url = start(workdir, "drain", role="core", drain_s=2, graceful_timeout_s=10)
    slow = {}
    t = threading.Thread(target=lambda: slow.update(r=requests.get(f"{url}/api/work?ms=2500", timeout=30)))
    t.start()
    wait_until(lambda: in_flight(url) >= 1, timeout=10, interval=0.05, what="the slow request in flight")
    proc.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: requests.get(f"{url}/health/ready", timeout=5).status_code == 503, timeout=10, interval=0.05,
               what="not ready once SIGTERM arrived")
    assert requests.get(f"{url}/health", timeout=5).status_code == 200      # alive while draining
    assert requests.get(f"{url}/api/items", timeout=5).status_code == 200   # still serving
    with requests.Session() as keep_alive:  # ... but tells keep-alive clients to go elsewhere
        assert keep_alive.get(f"{url}/api/items", timeout=5).headers.get("connection") == "close"
    t.join(timeout=30)
    assert slow["r"].status_code == 200 and slow["r"].json()["cpu_ms"] >= 2500
    # uvicorn re-raises the SIGTERM once it has shut down cleanly: exit by that signal is normal
    assert proc.proc.wait(timeout=20) in (0, -signal.SIGTERM)
    assert "draining" in proc.log.read_text()


def test_agent_outage_fails_plan_fast_and_visibly_while_the_rest_serves(workdir):
    dead_agent = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc, url = start(workdir, "no-agent", role="core", agent_url=dead_agent, agent_timeout_s=1)
    try:
        started = time.monotonic()
        plan = requests.get(f"{url}/api/plan", timeout=10)
        assert plan.status_code == 502 and time.monotonic() - started < 2
        assert requests.get(f"{url}/api/items", timeout=5).status_code == 200
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'upstream_requests_total{outcome="error",upstream="mca"} 1.0' in metrics
        assert 'http_requests_total{method="GET",route="/api/plan",status="502"} 1.0' in metrics
    finally:
        proc.stop()


def test_agent_exports_the_seed_metrics_and_injected_errors_count(workdir):
    proc, url = start(workdir, "npa-agent", role="agent", agent_type="npa")
    try:
        requests.post(f"{url}/admin/faults", json={"error_ratio": 1, "duration_s": 5}, timeout=5).raise_for_status()
        assert requests.get(f"{url}/agent/act", timeout=5).status_code == 500
        requests.delete(f"{url}/admin/faults", timeout=5)
        assert requests.get(f"{url}/agent/act", timeout=5).status_code == 200
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'agent_requests_total{agent_type="npa"} 2.0' in metrics
        assert 'agent_errors_total{agent_type="npa"} 1.0' in metrics
        assert 'agent_request_duration_seconds_bucket{agent_type="npa",le="60.0"} 2.0' in metrics
    finally:
        proc.stop()


def test_bad_fault_spec_is_a_clear_400(stack):
    resp = requests.post(f"{stack['core']}/admin/faults", json={"error_ratio": 2, "duration_s": 5}, timeout=5)
    assert resp.status_code == 400 and "error_ratio" in resp.json()["error"]


def test_orders_without_a_reachable_primary_are_refused_and_leave_health_alone(workdir):
    """No PostgreSQL where the DSN points (a closed loopback port): every order is a 503 that
    says it was refused (it certainly did not apply), the read-back is a 503 too (never an empty
    "found"), and readiness does not depend on the database. Without a DSN there are no orders."""
    closed = free_port()
    proc, url = start(workdir, "core-orders", postgres_primary_dsn=f"postgresql://app:pw@127.0.0.1:{closed}/db",
                      database_timeout_s=1)
    try:
        placed = requests.post(f"{url}/api/orders", json={"id": "o-1"}, timeout=10)
        assert placed.status_code == 503 and placed.json()["outcome"] == "refused", placed.text
        assert "no connection to postgres-primary" in placed.json()["error"]
        found = requests.post(f"{url}/api/orders/found", json={"ids": ["o-1"]}, timeout=10)
        assert found.status_code == 503 and "found" not in found.json()
        assert requests.post(f"{url}/api/orders", json={"nope": 1}, timeout=5).status_code == 400
        assert requests.get(f"{url}/health/ready", timeout=5).status_code == 200
    finally:
        proc.stop()
    plain, plain_url = start(workdir, "core-plain")
    try:
        assert requests.post(f"{plain_url}/api/orders", json={"id": "o-1"}, timeout=5).status_code == 404
    finally:
        plain.stop()
