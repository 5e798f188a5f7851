"""Chaos Toolkit probes on what Prometheus sees, for conditions no Kubernetes object states (is
every Redis slot served?). A query that returns nothing is no evidence: an error naming the query
and the URL, never true."""

from edge.prometheus import Prometheus, PrometheusError


def promql_holds(prometheus_url: str, query: str) -> bool:
    """True when every series the query returns is non-zero (`tolerance: true`). Write comparisons
    with `bool` (`min(redis_cluster_slots_ok) == bool 16384`): a filtering one returns nothing when
    false, which this cannot tell from no data."""
    rows = Prometheus(prometheus_url).instant(query)
    if not rows:
        raise PrometheusError(f"{prometheus_url}: {query!r} returned no series: nothing to judge")
    return all(value != 0 for _, value in rows)

