"""Helpers of the integration tests: child processes, free loopback ports, waiting for HTTP."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
# the seed stack's traffic: the tests here run against the seed's core API
SEED_LOCUSTFILE = str(REPO / "loadtests" / "locustfile.py")


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

    @contextmanager
    def serving(self, ready_url: str, timeout: float = 30):
        """Waits until ready_url answers 200, then yields; stops the process however it ends."""
        try:
            wait_http(ready_url, timeout, proc=self.proc, log=self.log)
            yield
        finally:
            self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_load(host: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    """loadtests.runner in its own process (Locust under it in another)."""
    return subprocess.run([sys.executable, "-m", "loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", host, "--out", str(out), *args],
                          capture_output=True, text=True, timeout=600)


def seconds_of_load(out: Path) -> int:
    """How many seconds of requests the load runner writing into `out` has recorded so far."""
    timeline = out / "timeline.jsonl"
    if not timeline.exists():
        return 0
    return len({line.split(",", 1)[0] for line in timeline.read_text().splitlines() if line.endswith("}")})


def scraped_after(prometheus: str, t: float) -> bool:
    """Whether Prometheus has scraped every target twice since `t`: it holds everything up to t."""
    targets = requests.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    last = [datetime.fromisoformat(target["lastScrape"]).timestamp() for target in targets]
    intervals = [float(target["scrapeInterval"].rstrip("s")) for target in targets]
    return bool(last) and all(at >= t + interval for at, interval in zip(last, intervals))
