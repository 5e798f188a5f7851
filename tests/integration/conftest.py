"""Real parts on loopback: the reference service (core + agent, `python -m service`), a real
Prometheus (Debian's package) scraping them every second, and Locust through loadtests.runner."""

import shutil
import sys
import time

import pytest
import requests

from tests.integration.local import REPO, Process, free_port, wait_http

RULES = REPO / "deploy/monitoring/rules"


@pytest.fixture(scope="session")
def workdir(run_dir):
    """Where the integration tests keep their processes' logs, load and Prometheus data."""
    path = run_dir / "integration"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def stack(workdir):
    """Core API on one port, calling the MCA agent on another."""
    agent_port, core_port = free_port(), free_port()
    agent = Process("agent", [sys.executable, "-m", "service"], workdir,
                    {"ROLE": "agent", "AGENT_TYPE": "mca", "PORT": str(agent_port), "HOST": "127.0.0.1"})
    core = Process("core", [sys.executable, "-m", "service"], workdir,
                   {"ROLE": "core", "AGENT_TYPE": "mca", "AGENT_URL": f"http://127.0.0.1:{agent_port}",
                    "PORT": str(core_port), "HOST": "127.0.0.1", "WORK_MS": "5", "DRAIN_S": "1"})
    try:
        wait_http(f"http://127.0.0.1:{agent_port}/health/ready", proc=agent.proc, log=agent.log)
        wait_http(f"http://127.0.0.1:{core_port}/health/ready", proc=core.proc, log=core.log)
        yield {"core": f"http://127.0.0.1:{core_port}", "agent": f"http://127.0.0.1:{agent_port}",
               "core_port": core_port, "agent_port": agent_port}
    finally:
        core.stop()
        agent.stop()


@pytest.fixture(scope="session")
def prometheus(workdir, stack):
    """Debian's Prometheus on a loopback port: 1 s scrape and evaluation, our rule files."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not installed: run `make setup` (Debian package prometheus)")
    port = free_port()
    # test-only: an alert that is always true, to watch pending -> firing through the probes
    test_rules = workdir / "test-rules.yaml"
    test_rules.write_text("""
groups:
  - name: test-only
    rules:
      - alert: GamedayTestAlwaysFiring
        expr: vector(1)
        for: 3s
        labels: {severity: none}
""")
    config = workdir / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}/*.yaml
  - {test_rules}
scrape_configs:
  - job_name: core-api
    static_configs:
      - targets: ["127.0.0.1:{stack['core_port']}"]
        labels: {{app: core-api}}
  - job_name: mca
    static_configs:
      - targets: ["127.0.0.1:{stack['agent_port']}"]
        labels: {{app: mca}}
""")
    proc = Process("prometheus", [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                                  f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle"], workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready", proc=proc.proc, log=proc.log)
        # both targets scraped at least once before any test judges anything
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            targets = requests.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
            if len(targets) == 2 and all(t["health"] == "up" for t in targets):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"Prometheus targets not up: {targets}")
        yield url
    finally:
        proc.stop()
