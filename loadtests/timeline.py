"""Records, inside the Locust process, every request into one line per second and endpoint:

    {"t": 1763758800, "method": "GET", "name": "/api/items", "requests": 41, "failures": 0,
     "rt_ms": {"2.1": 30, "2.3": 11}}

rt_ms counts response times rounded to 2-3 significant digits, so the quantiles of any window
come from summing lines (core.load_stats). Lines are appended once their second is over, so a
crash loses at most the last second. The file is $GAMEDAY_TIMELINE (none: nothing recorded); a
worker of a distributed run sends its lines to the master's (loadtests.distributed), where a second
and endpoint may have a line per worker.
"""

import os
import time
from collections import Counter, defaultdict

import gevent
from locust import events

from loadtests import distributed

FLUSH_EVERY_S = 1.0


def rounded_ms(ms: float) -> float:
    """Like Locust's own rounding: enough precision for quantiles, few distinct values."""
    for limit, digits in ((10, 1), (100, 0), (1000, -1), (10000, -2)):
        if ms < limit:
            return round(ms, digits)
    return round(ms, -3)


class Timeline:
    def __init__(self, out):
        self.out = out  # a distributed.LineFile or Outbox
        self.seconds: dict = defaultdict(lambda: {"requests": 0, "failures": 0, "rt": Counter()})

    def record(self, method: str, name: str, response_time_ms: float, failed: bool) -> None:
        entry = self.seconds[(int(time.time()), method, name)]
        entry["requests"] += 1
        entry["failures"] += int(failed)
        entry["rt"][rounded_ms(response_time_ms)] += 1

    def flush(self, everything: bool = False) -> None:
        now = int(time.time())
        done = sorted(k for k in self.seconds if everything or k[0] < now)
        for key in done:
            t, method, name = key
            e = self.seconds.pop(key)
            self.out.write({"t": t, "method": method, "name": name, "requests": e["requests"], "failures": e["failures"],
                            "rt_ms": {str(k): v for k, v in sorted(e["rt"].items())}})


_timeline: Timeline | None = None


@events.init.add_listener
def _start(environment, **_):
    global _timeline
    out = distributed.sink(environment, "timeline", os.environ.get("GAMEDAY_TIMELINE"))
    if out is None or environment.parsed_options is None:
        return
    _timeline = Timeline(out)
    distributed.before_each_report(lambda: _timeline.flush(everything=True))

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
