"""The service's Prometheus metrics (names the alert rules and SLO probes query)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Latency buckets around the default SLO (p95 < 1 s), fine enough below it to estimate p50/p95;
# up to 60 s so that the seed rule "agent p95 > 10 s" can see a p95 above 10 s at all.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0,
                   1.5, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """One registry per app, so tests can run several apps in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("http_requests", "HTTP requests served, by route template and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("http_request_duration_seconds", "Time to serve an HTTP request",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=r)
        self.ready = Gauge("service_ready", "1 while the readiness probe answers OK", registry=r)
        # what a graceful drain waits for: requests accepted and not yet answered
        self.in_flight = Gauge("http_requests_in_flight", "HTTP requests being served, by route template", ["route"],
                               registry=r)
        # an agent's own view of its work (the seeds' agent metrics)
        self.agent_requests = Counter("agent_requests", "Requests an agent handled",
                                      ["agent_type"], registry=r)
        self.agent_errors = Counter("agent_errors", "Requests an agent failed", ["agent_type"], registry=r)
        self.agent_latency = Histogram("agent_request_duration_seconds", "Time an agent took per request",
                                       ["agent_type"], buckets=LATENCY_BUCKETS, registry=r)
        # the core API's view of its calls to an agent: visible even when no agent pod is left
        self.upstream_requests = Counter("upstream_requests", "Calls to an agent, by outcome",
                                         ["upstream", "outcome"], registry=r)
        self.upstream_latency = Histogram("upstream_request_duration_seconds", "Time of a call to an agent",
                                          ["upstream"], buckets=LATENCY_BUCKETS, registry=r)
