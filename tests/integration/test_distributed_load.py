"""Locust's distributed mode under the runner (--workers): a master and two worker processes on
loopback against the real core API. The master's merged timeline counts what the server counted
and what Locust's own merged stats counted, its percentiles are Locust's, each generator's CPU is
kept; a worker killed mid-run is a named hole in the load's evidence, and the load goes on."""

import csv
import json
import signal
import sys
import time

import psutil
import pytest

from core.generators import generators
from core.load_stats import window_stats
from core.verdict import Window
from edge.files import read_json_lines
from edge.prometheus import Prometheus
from edge.rundir import load_generators, load_timeline
from gameday.coverage import lost_workers
from probes.slo import server_counts

from tests.integration.local import SEED_LOCUSTFILE, run_load, scraped_after
from tests.waiting import wait_until

STEADY = ("--shape", "steady", "--users", "20", "--spawn-rate", "20")


def aggregated(out) -> dict:
    with open(out / "locust_stats.csv") as f:
        return next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")


@pytest.fixture(scope="module")
def two_workers(stack, prometheus, workdir):
    out = workdir / "two-workers"
    result = run_load(stack["core"], out, *STEADY, "--duration", "25", "--workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    since = time.time()
    wait_until(lambda: scraped_after(prometheus, since), timeout=30, interval=0.2, what="two scrapes since the load")
    frame = load_timeline(out / "timeline.jsonl")
    return out, frame, Window.from_epoch(float(frame.t.min()), float(frame.t.max()) + 1), result.stdout


def test_the_master_counts_what_the_server_and_locust_counted(prometheus, two_workers):
    out, frame, window, _ = two_workers
    client = window_stats(frame, window)
    server_requests, _ = server_counts(Prometheus(prometheus), window, 'app="core-api"')
    assert client.requests > 300
    assert server_requests == pytest.approx(client.requests, rel=0.05), (server_requests, client.requests)
    # every worker's last report reached the master: not one request of Locust's own merged stats is missing
    assert client.requests == int(aggregated(out)["Request Count"])
    raw = read_json_lines(out / "timeline.jsonl")
    assert len(raw) > len(frame), "two workers send their own lines for the same second; the reader sums them"


def test_merged_percentiles_are_locusts_own(two_workers):
    out, frame, window, _ = two_workers
    merged, locust = window_stats(frame, window), aggregated(out)
    for q, column in ((0.5, "50%"), (0.95, "95%"), (0.99, "99%")):
        ours_ms, theirs_ms = merged.quantile_s(q) * 1000, float(locust[column])
        # both round response times to 2 significant digits before counting them
        assert abs(ours_ms - theirs_ms) <= max(1.0, 0.1 * theirs_ms), (column, ours_ms, theirs_ms)


def test_each_generator_s_cpu_is_kept(two_workers):
    out, _, _, stdout = two_workers
    gens = {g.name: g for g in generators(load_generators(out / "generators.jsonl"))}
    assert set(gens) == {"master", "worker 1", "worker 2"}, gens
    assert all(g.peak_cpu is not None and g.lost_at is None for g in gens.values()), gens
    assert "2 Locust workers started (processes on this machine)" in stdout


def test_a_killed_worker_is_a_named_hole_and_the_load_goes_on(stack, workdir):
    out = workdir / "worker-killed"
    with psutil.Popen([sys.executable, "-m", "loadtests.runner", "--locustfile", SEED_LOCUSTFILE, "--host", stack["core"],
                       "--out", str(out), *STEADY, "--duration", "35", "--workers", "2"],
                      stdout=open(workdir / "worker-killed.out", "w"), stderr=psutil.subprocess.STDOUT) as runner:
        wait_until(lambda: (out / "timeline.jsonl").exists() and len(load_timeline(out / "timeline.jsonl")) > 10,
                   timeout=60, interval=0.5, what="the workers' first reports")
        victim = next(p for p in psutil.process_iter(["cmdline"])
                      if str(out / "worker-2.log") in (p.info["cmdline"] or []))
        victim.send_signal(signal.SIGKILL)
        killed_at = time.time()
        assert runner.wait(timeout=120) == 0, (workdir / "worker-killed.out").read_text()
    said = (workdir / "worker-killed.out").read_text()
    assert f"worker process 2 (pid {victim.pid}) exited (-9)" in said, said

    frame = load_generators(out / "generators.jsonl")
    lost = [g for g in generators(frame) if g.lost_at]
    assert len(lost) == 1 and killed_at - 5 < lost[0].lost_at < killed_at + 10, lost
    holes = lost_workers(frame, killed_at - 60, killed_at + 60)
    assert len(holes) == 1 and holes[0].source == "load", holes
    assert f"{lost[0].name} of the load was lost" in str(holes[0]), str(holes[0])
    assert holes[0].start <= killed_at <= holes[0].end + 1, (holes[0], killed_at)
    # the other worker took its users: the last seconds carry the whole load again
    timeline = load_timeline(out / "timeline.jsonl")
    per_second = timeline.groupby("t").requests.sum()
    assert per_second[per_second.index > lost[0].lost_at + 3].mean() > 0.7 * per_second[per_second.index < killed_at].mean()
    with open(out / "profile.json") as f:
        assert json.load(f)["workers"] == 2
