"""Real parts on loopback: the reference service (core + agent, `python -m service`), a real
Prometheus (Debian's package) scraping them every second, and Locust through loadtests.runner."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy/monitoring/rules"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode}: {log.read_text()[-2000:] if log else ''}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


class Process:
    """A child process with its output in a log file, stopped with SIGTERM at teardown."""

    def __init__(self, name: str, cmd: list[str], logdir: Path, env: dict | None = None):
        self.log = logdir / f"{name}.log"
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("integration")


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
    config = workdir / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}/*.yaml
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


def run_load(host: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    """loadtests.runner in its own process (Locust under it in another)."""
    return subprocess.run([sys.executable, "-m", "loadtests.runner", "--host", host, "--out", str(out), *args],
                          capture_output=True, text=True, timeout=600)
