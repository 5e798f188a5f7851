"""make bench-load: how many requests a second each load generator makes per core of CPU it uses,
in one run against the same target: wrk, then the suite's own load runner with one Locust worker,
then with two (a master and its workers, as `gameday run --workers N` starts them).

The target is nginx on loopback answering a constant 200 with logging off: one event-loop worker
in C spends microseconds a request, so the generators, not the target, are what is measured (its
own CPU over each window is printed to show it). The service under test would not do: in Python,
it saturates a core before one Locust worker does. Each generator's CPU is read from the kernel
(user + system time of its processes) over a steady window after its ramp-up, so "per core" holds
on this 2-core machine, where generators and target share the cores.

    BENCH_WINDOW_S=20 BENCH_USERS=64 make bench-load
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from edge.rundir import load_timeline
from loadtests.workers import free_port

WINDOW_S = float(os.environ.get("BENCH_WINDOW_S", "20"))
USERS = int(os.environ.get("BENCH_USERS", "64"))      # wrk's connections, Locust's users
RAMP_S = 5.0                                           # left out of the window: start-up and spawning
HERE = Path(__file__).parent
NGINX_CONF = """worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir}; uwsgi_temp_path {dir}; scgi_temp_path {dir};
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
"""


@dataclass
class Figure:
    generator: str
    requests: int
    seconds: float
    generator_cpu_s: float
    target_cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def per_core(self) -> float:
        return self.requests / self.generator_cpu_s

    def __str__(self) -> str:
        return (f"  {self.generator:18s} {self.rps:9.0f} req/s  on {self.generator_cpu_s / self.seconds:4.2f} cores "
                f"= {self.per_core:7.0f} req/s per generator core   (target nginx at "
                f"{100 * self.target_cpu_s / self.seconds:3.0f} % of one core)")


def cpu_s(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree(root: psutil.Process) -> list[psutil.Process]:
    return [root, *root.children(recursive=True)]


def start_nginx(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, port=port))
    nginx = subprocess.Popen(["nginx", "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=open(workdir / "nginx.out", "w"))
    time.sleep(1)
    if nginx.poll() is not None:
        raise SystemExit(f"nginx did not start: {(workdir / 'nginx.out').read_text()}")
    return nginx, port


def measure(generator: str, command: list[str], nginx: psutil.Process, requests_between, workdir: Path) -> Figure:
    """Runs command; over a window of WINDOW_S after RAMP_S, the requests it made (requests_between(a, b))
    and the CPU seconds of its process tree and of nginx."""
    with open(workdir / f"{generator.replace(' ', '-')}.out", "w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        time.sleep(RAMP_S)
        processes = tree(root)
        a, gen_a, target_a = time.time(), cpu_s(processes), cpu_s(tree(nginx))
        time.sleep(WINDOW_S)
        processes = list({p.pid: p for p in processes + tree(root)}.values())
        b, gen_b, target_b = time.time(), cpu_s(processes), cpu_s(tree(nginx))
        proc.wait(timeout=120)
    requests = requests_between(a, b, workdir)
    return Figure(generator, requests, b - a, gen_b - gen_a, target_b - target_a)


def wrk_requests(command_out: Path):
    def between(a: float, b: float, workdir: Path) -> int:
        # wrk reports its whole run only: its rate over the run, applied to the window
        text = command_out.read_text()
        rate = float(text.split("Requests/sec:")[1].split()[0])
        return round(rate * (b - a))
    return between


def timeline_requests(out: Path):
    def between(a: float, b: float, workdir: Path) -> int:
        frame = load_timeline(out / "timeline.jsonl")
        inside = frame[(frame.t >= int(a) + 1) & (frame.t < int(b))]   # whole seconds inside the window
        return round(int(inside.requests.sum()) * (b - a) / (int(b) - int(a) - 1))
    return between


def main() -> int:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: run `make bench-load` (it installs wrk and nginx)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    nginx_proc, port = start_nginx(workdir)
    nginx, url = psutil.Process(nginx_proc.pid), f"http://127.0.0.1:{port}"
    run_s = RAMP_S + WINDOW_S + 2
    print(f"bench-load: {USERS} connections/users against nginx at {url}/ (a constant 200); each generator "
          f"measured over {WINDOW_S:.0f} s after a {RAMP_S:.0f} s ramp; {psutil.cpu_count()} cores", flush=True)
    figures = []
    try:
        figures.append(measure("wrk (1 thread)", ["wrk", "-t1", f"-c{USERS}", f"-d{run_s:.0f}s", f"{url}/"], nginx,
                               wrk_requests(workdir / "wrk-(1-thread).out"), workdir))
        print(figures[-1], flush=True)
        for workers in (1, 2):
            out = workdir / f"locust-{workers}"
            figures.append(measure(
                f"locust {workers} worker{'s' if workers > 1 else ''}",
                [sys.executable, "-m", "loadtests.runner", "--host", url, "--locustfile", str(HERE / "bench_locustfile.py"),
                 "--shape", "steady", "--users", str(USERS), "--spawn-rate", str(USERS), "--duration", f"{run_s:.0f}",
                 "--threshold", "error_ratio < 1%", "--workers", str(workers), "--out", str(out)],
                nginx, timeline_requests(out), workdir))
            print(figures[-1], flush=True)
    finally:
        nginx_proc.terminate()
        nginx_proc.wait(timeout=10)
    wrk, one, two = figures
    print(f"  scaling, 2 workers / 1 worker: {two.rps / one.rps:.2f}x req/s; Locust makes "
          f"{one.per_core / wrk.per_core:.3f} of wrk's requests per core (1 worker), {two.per_core / wrk.per_core:.3f} (2)")
    print(f"  (artifacts in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
