"""Server-side SLOs over a window, from the service's own metrics in Prometheus: request count
and rate, error ratio, latency quantiles from the histogram. Usable as Chaos Toolkit python probes
(plain arguments, a dict back) and from pytest (the Verdict functions).

`selector` is a PromQL label matcher list, e.g. 'job="core"' or 'route!~"/health.*|/metrics"'.
"""

from datetime import datetime, timezone

from core.verdict import Verdict, Window, inconclusive, judged
from edge.prometheus import Prometheus, PrometheusError

REQUESTS = "http_requests_total"
LATENCY = "http_request_duration_seconds_bucket"
# probes and scrapes are not traffic: leave them out of every SLO
NOT_TRAFFIC = 'route!~"/health.*|/metrics|/admin/.*"'


def _matchers(selector: str) -> str:
    return ",".join(s for s in (NOT_TRAFFIC, selector) if s)


def _range(window: Window) -> str:
    return f"{max(1, round(window.seconds))}s"


def request_count_query(window: Window, selector: str = "") -> str:
    return f"sum(increase({REQUESTS}{{{_matchers(selector)}}}[{_range(window)}]))"


def error_count_query(window: Window, selector: str = "") -> str:
    return f'sum(increase({REQUESTS}{{{_matchers(selector)},status=~"5.."}}[{_range(window)}]))'


def latency_quantile_query(q: float, window: Window, selector: str = "") -> str:
    return (f"histogram_quantile({q}, sum by (le) "
            f"(increase({LATENCY}{{{_matchers(selector)}}}[{_range(window)}])))")


def server_counts(prom: Prometheus, window: Window, selector: str = "") -> tuple[float | None, float]:
    """(requests, errors) in the window; requests None when the metric has no series there."""
    requests = prom.scalar(request_count_query(window, selector), window.end)
    errors = prom.scalar(error_count_query(window, selector), window.end) if requests is not None else None
    return requests, errors or 0.0


def request_rate(prom: Prometheus, window: Window, selector: str = "") -> float | None:
    """Mean requests per second the server answered in the window; None without series."""
    requests = prom.scalar(request_count_query(window, selector), window.end)
    return None if requests is None else requests / window.seconds


def judge_error_ratio(requests: float | None, errors: float, max_ratio: float, window: Window,
                      query: str) -> Verdict:
    check, subject, expected = "slo_server", "error_ratio", f"error_ratio < {max_ratio:.2%}"
    if requests is None:
        return inconclusive(check, expected, f"no series for {query}", window, evidence={"query": query},
                            subject=subject)
    if requests < 1:
        return inconclusive(check, expected, f"only {requests:.1f} requests in the window", window,
                            evidence={"query": query, "requests": requests}, subject=subject)
    ratio = errors / requests
    return judged(check, ratio < max_ratio, expected, f"error_ratio = {ratio:.2%} ({errors:.0f}/{requests:.0f})",
                  window, evidence={"query": query, "requests": requests, "errors": errors, "value": ratio},
                  subject=subject)


def judge_latency(value: float | None, q: float, max_s: float, window: Window, query: str) -> Verdict:
    check, subject, expected = "slo_server", f"p{q * 100:g}", f"p{q * 100:g} < {max_s * 1000:g}ms"
    if value is None or value != value:  # no series, or NaN: no request in the window
        return inconclusive(check, expected, f"no latency samples for {query}", window, evidence={"query": query},
                            subject=subject)
    return judged(check, value < max_s, expected, f"p{q * 100:g} = {value * 1000:.0f}ms", window,
                  evidence={"query": query, "value": value}, subject=subject)


def slo_error_ratio(prom: Prometheus, window: Window, max_ratio: float = 0.05, selector: str = "") -> Verdict:
    query = request_count_query(window, selector)
    try:
        requests, errors = server_counts(prom, window, selector)
    except PrometheusError as err:
        return inconclusive("slo_server", f"error_ratio < {max_ratio:.2%}", str(err), window, subject="error_ratio")
    return judge_error_ratio(requests, errors, max_ratio, window, query)


def slo_latency(prom: Prometheus, window: Window, q: float = 0.95, max_s: float = 1.0,
                selector: str = "") -> Verdict:
    query = latency_quantile_query(q, window, selector)
    try:
        value = prom.scalar(query, window.end)
    except PrometheusError as err:
        return inconclusive("slo_server", f"p{q * 100:g} < {max_s * 1000:g}ms", str(err), window,
                            subject=f"p{q * 100:g}")
    return judge_latency(value, q, max_s, window, query)


# ---- Chaos Toolkit probes: plain arguments, plain data back ----

def last_seconds(window_s: float) -> Window:
    now = datetime.now(timezone.utc).timestamp()
    return Window.from_epoch(now - window_s, now)


def error_ratio_below(prometheus_url: str, window_s: float = 60, max_ratio: float = 0.05,
                      selector: str = "") -> dict:
    """Chaos Toolkit probe: the server-side error ratio over the last window_s seconds."""
    return slo_error_ratio(Prometheus(prometheus_url), last_seconds(window_s), max_ratio, selector).to_dict()


def latency_quantile_below(prometheus_url: str, window_s: float = 60, quantile: float = 0.95,
                           max_seconds: float = 1.0, selector: str = "") -> dict:
    """Chaos Toolkit probe: a server-side latency quantile over the last window_s seconds."""
    return slo_latency(Prometheus(prometheus_url), last_seconds(window_s), quantile, max_seconds,
                       selector).to_dict()


def slo_agreement(client_requests: int, client_failures: int, server_requests: float | None, server_errors: float,
                  window: Window, max_gap: float = 0.01) -> Verdict:
    """pass: the error ratio clients saw (Locust) and the one the server counted (Prometheus)
    differ by at most max_gap. A client ratio above the server's is failures the server never
    saw: refused or reset connections, requests routed to a dead pod, proxy timeouts."""
    check, expected = "slo_agreement", f"client and server error ratios within {max_gap:.1%} of each other"
    if not client_requests or not server_requests:
        return inconclusive(check, expected, "no requests on the " + ("client" if not client_requests else "server")
                            + " side in the window", window)
    client, server = client_failures / client_requests, server_errors / server_requests
    gap = client - server
    evidence = {"client": {"requests": client_requests, "failures": client_failures, "ratio": client},
                "server": {"requests": server_requests, "errors": server_errors, "ratio": server}}
    reason = "" if abs(gap) <= max_gap else (
        f"clients saw {gap:.2%} more failures than the server counted: failures it never saw"
        if gap > 0 else f"the server counted {-gap:.2%} more errors than clients saw: traffic besides the load")
    return judged(check, abs(gap) <= max_gap, expected, f"client {client:.2%} vs server {server:.2%}", window,
                  evidence, reason=reason, gap=gap)
