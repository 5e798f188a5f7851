"""Keeps the Prometheus side of a run in its directory (prometheus.jsonl), fetched right after
the run while Prometheus still holds it: server-side traffic and latency, HPA utilization against
target, PDB allowed disruptions, node readiness, alerts. A report can then be rebuilt from the run
directory alone, with no cluster and no Prometheus.

One line per series: {"name", "query", "labels", "values": [[unix_ts, value], ...]}.
"""

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd

from core.verdict import Window
from edge.prometheus import Prometheus, PrometheusError
from edge.rundir import PROMETHEUS_STEP_S
from edge.stack import Stack
from probes.slo import LATENCY, NOT_TRAFFIC, REQUESTS

MARGIN_S = 60    # before and after the run: the report shows where it started from and ended


def queries(stack: Stack) -> dict[str, str]:
    server = ",".join(s for s in (NOT_TRAFFIC, stack.server_selector) if s)
    ns = f'namespace="{stack.namespace}"'
    quantile = "histogram_quantile({q}, sum by (le) (rate(" + LATENCY + "{{" + server + "}}[30s])))"
    return {
        "server_rps": f"sum(rate({REQUESTS}{{{server}}}[30s]))",
        "server_errors_per_s": f'sum(rate({REQUESTS}{{{server},status=~"5.."}}[30s]))',
        "server_p50_s": quantile.format(q=0.5),
        "server_p95_s": quantile.format(q=0.95),
        "server_p99_s": quantile.format(q=0.99),
        "hpa_cpu_utilization": f'kube_horizontalpodautoscaler_status_target_metric{{{ns},metric_name="cpu",'
                               'metric_target_type="utilization"}',
        "hpa_cpu_target": f'kube_horizontalpodautoscaler_spec_target_metric{{{ns},metric_name="cpu",'
                          'metric_target_type="utilization"}',
        "hpa_current_replicas": f"kube_horizontalpodautoscaler_status_current_replicas{{{ns}}}",
        "pdb_disruptions_allowed": f"kube_poddisruptionbudget_status_pod_disruptions_allowed{{{ns}}}",
        "node_ready": 'kube_node_status_condition{condition="Ready",status="true"}',
        "alerts": "ALERTS",
        # per Deployment, for the capacity model: the requests it answers, the CPU it burns and
        # what one pod requests (a pod's Deployment is its name less the two hash suffixes)
        "deployment_rps": "sum by (deployment) (" + _by_deployment(
            f"rate({REQUESTS}{{{ns},{NOT_TRAFFIC}}}[30s])") + ")",
        "deployment_cpu_cores": "sum by (deployment) (" + _by_deployment(
            f'rate(container_cpu_usage_seconds_total{{{ns},container!="",container!="POD"}}[30s])') + ")",
        "deployment_cpu_request_per_pod": "max by (deployment) (" + _by_deployment(
            f'sum by (pod) (kube_pod_container_resource_requests{{{ns},resource="cpu"}})') + ")",
    }


def _by_deployment(expr: str) -> str:
    return f'label_replace({expr}, "deployment", "$1", "pod", "(.+)-[^-]+-[^-]+")'


CAPACITY = {"deployment_rps": "rps", "deployment_cpu_cores": "cpu_cores",
            "deployment_cpu_request_per_pod": "request_cores"}


def deployment_samples(stack: Stack, window: Window) -> pd.DataFrame:
    """Per Deployment and 5 s: requests/s, CPU cores, CPU request per pod (the capacity model's
    input): columns t, deployment, rps, cpu_cores, request_cores."""
    prom, every = Prometheus(stack.prometheus_url), queries(stack)
    series = {}
    for name in CAPACITY:
        frame = prom.range(every[name], window, PROMETHEUS_STEP_S)
        if frame.empty or "deployment" not in frame:
            raise PrometheusError(f"no series for {every[name]}")
        series[name] = frame.assign(t=frame.timestamp.map(pd.Timestamp.timestamp))[["t", "deployment", "value"]]
    return capacity_columns(series)


def recorded_deployment_samples(rows: list[dict]) -> pd.DataFrame:
    """The same samples from a run's prometheus.jsonl: the model can be recomputed offline."""
    series = {name: pd.DataFrame([(t, r["labels"].get("deployment"), v) for r in rows if r["name"] == name
                                  for t, v in r["values"]], columns=["t", "deployment", "value"]) for name in CAPACITY}
    return capacity_columns(series)


def capacity_columns(series: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """{query name: frame of t, deployment, value} -> one frame, a column per query."""
    return pd.concat([frame.set_index(["t", "deployment"]).value.rename(CAPACITY[name])
                      for name, frame in series.items()], axis=1).reset_index()


def record_prometheus(stack: Stack, window: Window, out: Path) -> list[str]:
    """Writes out/prometheus.jsonl; returns the problems met (a query that failed is left out and
    named, so a report says what is missing instead of drawing nothing)."""
    prom, problems = Prometheus(stack.prometheus_url), []
    span = Window(window.start - timedelta(seconds=MARGIN_S), window.end + timedelta(seconds=MARGIN_S))
    with open(out / "prometheus.jsonl", "w") as f:
        for name, query in queries(stack).items():
            try:
                frame = prom.range(query, span, PROMETHEUS_STEP_S)
            except PrometheusError as err:
                problems.append(f"{name}: {err}")
                continue
            labels = [c for c in frame.columns if c not in ("timestamp", "value")]
            for key, rows in (frame.groupby(labels, dropna=False) if labels else [((), frame)]):
                key = key if isinstance(key, tuple) else (key,)
                f.write(json.dumps({"name": name, "query": query,
                                    "labels": {k: v for k, v in zip(labels, key) if isinstance(v, str)},
                                    "values": [[ts.timestamp(), None if v != v else v]  # NaN: no data then
                                               for ts, v in zip(rows.timestamp, rows.value)]})
                        + "\n")
    return problems
