"""Real parts on loopback: the reference service (core + agent, `python -m service`), a real
Prometheus (Debian's package) scraping them every second and sending its alerts to a real
Alertmanager (Debian's package, our routing config) that delivers to the alert sink, and Locust
through loadtests.runner."""

import shutil
import sys
import time

import pytest
import requests
import yaml

from tests.integration.local import REPO, Process, free_port

RULES = REPO / "deploy/monitoring/rules"
ALERTMANAGER_CONFIG = REPO / "deploy/monitoring/alertmanager/alertmanager.yml"


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
    with agent.serving(f"http://127.0.0.1:{agent_port}/health/ready"), \
            core.serving(f"http://127.0.0.1:{core_port}/health/ready"):
        yield {"core": f"http://127.0.0.1:{core_port}", "agent": f"http://127.0.0.1:{agent_port}",
               "core_port": core_port, "agent_port": agent_port}


def _binary(name: str, package: str) -> str:
    binary = shutil.which(name)
    if binary is None:
        pytest.fail(f"{name} not installed: run `make setup` (Debian package {package})")
    return binary


@pytest.fixture(scope="session")
def alert_sink(workdir):
    """The webhook receiver (`ROLE=alertsink python -m service`) on a loopback port."""
    port = free_port()
    sink = Process("alert-sink", [sys.executable, "-m", "service"], workdir,
                   {"ROLE": "alertsink", "PORT": str(port), "HOST": "127.0.0.1"})
    with sink.serving(f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def alertmanager(workdir, alert_sink):
    """Debian's Alertmanager with the routing of deploy/monitoring, delivering to the local sink."""
    binary = _binary("prometheus-alertmanager", "prometheus-alertmanager")
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = f"{alert_sink}/alerts"
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    proc = Process("alertmanager", [binary, f"--config.file={path}", f"--storage.path={workdir / 'am'}",
                                    f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                   workdir)
    with proc.serving(f"http://127.0.0.1:{port}/-/ready"):
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def extra_rules(workdir):
    """A rule directory Prometheus loads on POST /-/reload: where a test adds its own rules."""
    path = workdir / "extra-rules"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def prometheus(workdir, stack, alertmanager, extra_rules):
    """Debian's Prometheus on a loopback port: 1 s scrape and evaluation, our rule files."""
    binary = _binary("prometheus", "prometheus")
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
  - {extra_rules}/*.yaml
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{alertmanager}"]}}]
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
                                  f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle",
                                  # (a send lost while the notifier restarts on reload is redone soon)
                                  "--rules.alert.resend-delay=2s"], workdir)
    url = f"http://127.0.0.1:{port}"
    with proc.serving(f"{url}/-/ready"):
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
