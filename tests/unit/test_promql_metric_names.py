"""The metric names alert_can_fire looks up, read out of PromQL expressions."""

import pytest

from probes.alerts import metric_names


@pytest.mark.parametrize("expr, names", [
    ('(rate(container_cpu_usage_seconds_total{container!="POD",container!=""}[5m]) * 100) > 80',
     {"container_cpu_usage_seconds_total"}),
    ('(container_memory_usage_bytes{container!="POD"} / container_spec_memory_limit_bytes{container!="POD"} * 100) > 85',
     {"container_memory_usage_bytes", "container_spec_memory_limit_bytes"}),
    ("histogram_quantile(0.95, rate(agent_request_duration_seconds_bucket[5m])) > 10",
     {"agent_request_duration_seconds_bucket"}),
    ("rate(agent_errors_total[5m]) / rate(agent_requests_total[5m]) > 0.05",
     {"agent_errors_total", "agent_requests_total"}),
    ("increase(kube_hpa_status_current_replicas[5m]) > 2", {"kube_hpa_status_current_replicas"}),
    ('sum by (job, le) (rate(x_bucket{a="by (b)"}[1h] offset 5m)) > 1e-3 * 14.4', {"x_bucket"}),
    ('a_total / ignoring(pod) group_left(node) b_info and on(node) c > bool 1', {"a_total", "b_info", "c"}),
    ('{__name__="up", job="x"} == 0 or absent(nothing_here)', {"up", "nothing_here"}),
])
def test_metric_names(expr, names):
    assert metric_names(expr) == names
