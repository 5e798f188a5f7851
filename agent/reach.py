"""python -m agent.reach --spec JSON

What a NetworkPolicy lets through, seen from inside pods: for each source pod of the spec on
this node, the agent enters the pod's network namespace and opens a TCP connection to each of
its destinations, exactly as the pod would (its address, its policies), then prints one JSON
line: every cell's outcome and how long it took. Read-only: nothing on the node or in the pod
changes, so there is nothing to revert and no Lease.

spec: {"timeout_s": S, "sources": [{"pod": "NS/NAME", "uid": UID, "destinations": [[ADDRESS, PORT], ...]}]}

Outcomes: open (connected), refused (a reset: nothing listens, or a policy that rejects),
unreachable (an ICMP error: a policy that rejects so), timeout (no answer: dropped), and
no-netns / error when the pod could not be entered or the attempt itself failed.
"""

import argparse
import asyncio
import errno
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from agent.host import HostError, run
from agent.pod_faults import pod_pid

OPEN, REFUSED, UNREACHABLE, TIMEOUT = "open", "refused", "unreachable", "timeout"
NO_NETNS, ERROR = "no-netns", "error"
UNREACHABLE_ERRNOS = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM)


async def attempt(address: str, port: int, timeout_s: float) -> dict:
    """One TCP connection: its outcome and the milliseconds to it."""
    start = time.monotonic()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
    except TimeoutError:
        outcome, detail = TIMEOUT, f"no answer in {timeout_s:g} s"
    except ConnectionRefusedError:
        outcome, detail = REFUSED, "connection refused"
    except OSError as err:
        outcome, detail = (UNREACHABLE if err.errno in UNREACHABLE_ERRNOS else ERROR), str(err)
    else:
        writer.close()
        outcome, detail = OPEN, ""
    return {"destination": f"{address}:{port}", "outcome": outcome, "detail": detail,
            "ms": round((time.monotonic() - start) * 1000, 1)}


async def attempts(destinations: list[list], timeout_s: float) -> list[dict]:
    """Every destination at once: a matrix costs one timeout, not one per dropped cell."""
    return list(await asyncio.gather(*(attempt(a, int(p), timeout_s) for a, p in destinations)))


def from_pod(source: dict, timeout_s: float) -> list[dict]:
    """The source pod's cells, tried inside its network namespace (this module again, `--connect`)."""
    def all_cells(outcome: str, detail: str) -> list[dict]:
        return [{"destination": f"{a}:{p}", "outcome": outcome, "detail": detail, "ms": None}
                for a, p in source["destinations"]]

    pid = pod_pid(source["uid"])
    if pid is None:
        return all_cells(NO_NETNS, f"no process of pod {source['pod']} on this node (gone, or elsewhere)")
    argv = [sys.executable, "-m", "agent.reach", "--connect",
            json.dumps({"timeout_s": timeout_s, "destinations": source["destinations"]})]
    try:
        return json.loads(run(["nsenter", "--target", str(pid), "--net", "--", *argv], timeout_s + 30))
    except (HostError, ValueError) as err:
        return all_cells(ERROR, f"inside pod {source['pod']}: {err}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent.reach")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--spec", type=json.loads, help="the sources on this node and their destinations, as JSON")
    mode.add_argument("--connect", type=json.loads, help="(inside a pod's network namespace) the attempts")
    args = parser.parse_args(argv)
    if args.connect is not None:
        print(json.dumps(asyncio.run(attempts(args.connect["destinations"], args.connect["timeout_s"]))))
        return 0
    timeout_s, sources = float(args.spec.get("timeout_s", 3)), args.spec["sources"]
    with ThreadPoolExecutor(max_workers=8) as pool:  # pods at once: a dropped cell costs its timeout once
        cells = list(pool.map(lambda s: from_pod(s, timeout_s), sources))
    print(json.dumps([{"pod": s["pod"], "cells": c} for s, c in zip(sources, cells)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
