"""Records, inside the Locust process, every request into one line per second and endpoint:

    {"t": 1763758800, "method": "GET", "name": "/api/items", "requests": 41, "failures": 0,
     "rt_ms": {"2.1": 30, "2.3": 11}}

rt_ms counts response times rounded to 2-3 significant digits, so the quantiles of any window
come from summing lines (core.load_stats). Lines are appended once their second is over, so a
crash loses at most the last second. The file is $GAMEDAY_TIMELINE (none: nothing recorded).
"""

import json
import os
import time
from collections import Counter, defaultdict

import gevent
from locust import events

FLUSH_EVERY_S = 1.0


def rounded_ms(ms: float) -> float:
    """Like Locust's own rounding: enough precision for quantiles, few distinct values."""
    for limit, digits in ((10, 1), (100, 0), (1000, -1), (10000, -2)):
        if ms < limit:
            return round(ms, digits)
    return round(ms, -3)


class Timeline:
    def __init__(self, path: str):
        self.path = path
        self.seconds: dict = defaultdict(lambda: {"requests": 0, "failures": 0, "rt": Counter()})

    def record(self, method: str, name: str, response_time_ms: float, failed: bool) -> None:
        entry = self.seconds[(int(time.time()), method, name)]
        entry["requests"] += 1
        entry["failures"] += int(failed)
        entry["rt"][rounded_ms(response_time_ms)] += 1

    def flush(self, everything: bool = False) -> None:
        now = int(time.time())
        done = sorted(k for k in self.seconds if everything or k[0] < now)
        if not done:
            return
        with open(self.path, "a") as out:
            for key in done:
                t, method, name = key
                e = self.seconds.pop(key)
                out.write(json.dumps({"t": t, "method": method, "name": name, "requests": e["requests"],
                                      "failures": e["failures"],
                                      "rt_ms": {str(k): v for k, v in sorted(e["rt"].items())}}) + "\n")


_timeline: Timeline | None = None


@events.init.add_listener
def _start(environment, **_):
    global _timeline
    path = os.environ.get("GAMEDAY_TIMELINE")
    if not path or environment.parsed_options is None:
        return
    _timeline = Timeline(path)

    def flush_forever():
        while True:
            gevent.sleep(FLUSH_EVERY_S)
            _timeline.flush()
    gevent.spawn(flush_forever)


@events.request.add_listener
def _record(request_type, name, response_time, exception, **_):
    if _timeline is not None:
        _timeline.record(request_type, name, response_time, exception is not None)


@events.quitting.add_listener
def _final_flush(**_):
    if _timeline is not None:
        _timeline.flush(everything=True)
