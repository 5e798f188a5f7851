"""SLO thresholds in the style of k6 ("p95 < 1s", "error_ratio < 5%"), judged on Locust's
client-side numbers (core.load_stats). Parsing is strict: a typo is an error, never a silently
passing check. Light to import: Locust's own process parses its profile's thresholds.

    p50 | p90 | p95 | p99 | pNN    latency quantile, value in ms or s ("p95 < 800ms")
    avg | max                      latency, ms or s
    error_ratio                    failures / requests, in % or as a fraction ("< 0.05")
    rps                            mean requests per second over the window
"""

import operator
import re
from dataclasses import dataclass

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EXPR = re.compile(r"^\s*(?P<metric>p\d{1,2}(?:\.\d+)?|avg|max|error_ratio|rps)\s*"
                   r"(?P<op><=|>=|<|>)\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?\s*$")


class ThresholdError(ValueError):
    pass


@dataclass(frozen=True)
class Threshold:
    expr: str
    metric: str
    op: str
    limit: float  # seconds for latency, a fraction for error_ratio, per second for rps

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.limit)

    @property
    def quantile(self) -> float | None:
        return float(self.metric[1:]) / 100 if self.metric.startswith("p") else None


def parse_threshold(expr: str) -> Threshold:
    if not isinstance(expr, str):
        raise ThresholdError(f"threshold {expr!r} is not a string like 'p95 < 1s'")
    m = _EXPR.match(expr)
    if not m:
        raise ThresholdError(f"threshold {expr!r} is not of the form 'METRIC OP VALUE[ms|s|%]' "
                             "(METRIC: pNN, avg, max, error_ratio, rps)")
    metric, op, value, unit = m["metric"], m["op"], float(m["value"]), m["unit"]
    if metric == "error_ratio":
        if unit in ("ms", "s"):
            raise ThresholdError(f"threshold {expr!r}: error_ratio takes % or a fraction")
        limit = value / 100 if unit == "%" else value
        if not 0 <= limit <= 1:
            raise ThresholdError(f"threshold {expr!r}: an error ratio lies between 0 and 100 %")
    elif metric == "rps":
        if unit:
            raise ThresholdError(f"threshold {expr!r}: rps takes a plain number")
        limit = value
    else:
        if unit not in ("ms", "s"):
            raise ThresholdError(f"threshold {expr!r}: latency needs a unit, ms or s")
        if metric.startswith("p") and not 0 < float(metric[1:]) < 100:
            raise ThresholdError(f"threshold {expr!r}: a quantile lies between p0 and p100")
        limit = value / 1000 if unit == "ms" else value
    if op == "<" and limit <= 0 or metric == "error_ratio" and op == ">" and limit >= 1:
        raise ThresholdError(f"threshold {expr!r} can never hold: no measurement is {op} {value:g}{unit or ''}")
    return Threshold(expr.strip(), metric, op, limit)
