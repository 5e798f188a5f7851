"""make bench-load: the highest sustained request rate one Locust process reaches against the
service's cheapest endpoint (/health), side by side with wrk on the same endpoint in the same
run, and the p50 each reports. Everything on loopback; each tool runs for DURATION_S."""

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

DURATION_S = int(os.environ.get("BENCH_DURATION_S", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ROLE": "core", "HOST": "127.0.0.1", "PORT": str(port), "DRAIN_S": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "service"], env=env, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the service did not start: {log.read_text()[-1000:]}")


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def run_wrk(url: str) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    return rps, p50


def run_locust(host: str, workdir: Path) -> tuple[float, float]:
    subprocess.run([sys.executable, "-m", "locust", "-f", str(HERE / "bench_locustfile.py"), "--headless",
                    "--host", host, "-u", str(CONNECTIONS), "-r", str(CONNECTIONS), "-t", f"{DURATION_S}s",
                    "--csv", str(workdir / "bench"), "--only-summary", "--loglevel", "ERROR"],
                   capture_output=True, text=True, check=True)
    with open(workdir / "bench_stats.csv") as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    return float(total["Requests/s"]), float(total["50%"])


def main() -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make setup`")
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = start_service(port, workdir / "service.log")
    try:
        print(f"bench-load: {CONNECTIONS} connections/users for {DURATION_S} s each against {url}/health",
              flush=True)
        wrk_rps, wrk_p50 = run_wrk(f"{url}/health")
        print(f"  wrk     {wrk_rps:9.0f} req/s   p50 {wrk_p50:7.2f} ms", flush=True)
        locust_rps, locust_p50 = run_locust(url, workdir)
        print(f"  locust  {locust_rps:9.0f} req/s   p50 {locust_p50:7.2f} ms", flush=True)
        print(f"  ratio locust/wrk = {locust_rps / wrk_rps:.2f}  (2 cores shared by generator and service)")
    finally:
        service.terminate()
        service.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
