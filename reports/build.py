"""One self-contained HTML report per run, built from the run directory alone (no cluster, no
Prometheus): verdicts.json, journal.json, the Locust timeline, the readiness samples and
prometheus.jsonl. Whatever an artifact lacks is said in the report, never drawn as zero.

    gameday report runs/<run>/        (writes runs/<run>/report.html)
"""

import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gameday.files import read_json_lines
from probes.failover import load_readiness
from loadtests.results import load_timeline
from reports.svg import Span, chart, clock

TEMPLATES = Path(__file__).resolve().parent
QUANTILES = (0.5, 0.95, 0.99)


def _json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _ts(text: str) -> float:
    return pd.Timestamp(text).timestamp()


def action_spans(journal: dict) -> list[Span]:
    """The method's actions and the rollbacks, each from its start to its end."""
    records = [r for r in (journal.get("run") or []) + (journal.get("rollbacks") or [])
               if r["activity"].get("type") == "action"]
    return [Span(_ts(r["start"]), _ts(r["end"]), r["activity"]["name"]) for r in records]


def client_series(timeline: pd.DataFrame) -> dict[str, dict]:
    """Per second: requests, failures, and latency quantiles over every endpoint (Locust)."""
    rps, failures, latency = {}, {}, {f"p{int(q * 100)}": [] for q in QUANTILES}
    for t, rows in timeline.groupby("t"):
        rps[t], failures[t] = int(rows.requests.sum()), int(rows.failures.sum())
        counts = pd.Series(dtype=float)
        for rt in rows.rt_ms:
            counts = counts.add(pd.Series({float(k): v for k, v in rt.items()}), fill_value=0)
        counts = counts.sort_index().cumsum()
        for q in QUANTILES:
            hit = counts[counts >= q * counts.iloc[-1]] if len(counts) else counts
            latency[f"p{int(q * 100)}"].append((float(t), float(hit.index[0]) / 1000 if len(hit) else None))
    return {"traffic": {"requests/s": sorted(rps.items()), "failures/s": sorted(failures.items())},
            "latency": latency}


def prometheus_series(path: Path) -> dict[str, list[dict]]:
    series: dict[str, list[dict]] = {}
    for row in read_json_lines(path) if path.exists() else []:
        series.setdefault(row["name"], []).append(row)
    return series


def _named(rows: list[dict], label: str, suffix: str = "") -> dict[str, list]:
    return {f"{r['labels'].get(label, '?')}{suffix}": [tuple(v) for v in r["values"]] for r in rows}


def _expected_alerts(verdicts: list[dict]) -> dict[str, str]:
    """{alert: what its verdicts said}: fired (measured against its bound), resolved, delivered."""
    said: dict[str, list[str]] = {}
    for v in verdicts:
        check, _, inside = v["name"].partition("[")
        alert, _, status = inside.rstrip("]").partition(",")
        if check == "alert_fired":
            bound = (v.get("details") or {}).get("bound_s")
            said.setdefault(alert, []).insert(0, f"{v['status']}: {v['observed']}"
                                                 + (f" (bound {bound:.0f} s)" if bound else ""))
        elif check == "alert_resolved":
            said.setdefault(alert, []).append(f"resolved {v['status']}: {v['observed']}")
        elif check == "alert_delivered":
            said.setdefault(alert, []).append(f"{status} notification {'delivered' if v['status'] == 'pass' else v['status']}")
    return {alert: "; ".join(parts) for alert, parts in said.items()}


def alerts_table(prom: dict[str, list[dict]], verdicts: list[dict]) -> list[dict]:
    """Every alert seen in the run: first pending, first and last firing; whether a verdict
    expected it and what the verdicts said (time to fire against its bound, delivery). An
    expected alert that never even went pending has its row too."""
    expected = _expected_alerts(verdicts)
    rows = {}
    for row in prom.get("alerts", []):
        labels, name = row["labels"], row["labels"].get("alertname", "?")
        who = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())
                        if k in ("namespace", "pod", "node", "instance", "deployment", "container"))
        entry = rows.setdefault((name, who), {"alert": name, "where": who, "severity": labels.get("severity", ""),
                                              "pending": None, "firing": None, "last_firing": None})
        times = [t for t, v in row["values"] if v]
        if not times:
            continue
        key = "pending" if labels.get("alertstate") == "pending" else "firing"
        entry[key] = min(filter(None, [entry[key], min(times)]))
        if key == "firing":
            entry["last_firing"] = max(filter(None, [entry["last_firing"], max(times)]))
    seen = {alert for alert, _ in rows}
    for alert in set(expected) - seen:
        rows[(alert, "")] = {"alert": alert, "where": "(never pending nor firing)", "severity": "",
                             "pending": None, "firing": None, "last_firing": None}
    table = []
    for entry in sorted(rows.values(), key=lambda e: (e["alert"] not in expected, e["alert"], e["where"])):
        table.append({**entry, **{k: clock(entry[k]) for k in ("pending", "firing", "last_firing") if entry[k]},
                      "expected": entry["alert"] in expected, "verdict": expected.get(entry["alert"], "")})
    return table


def charts(run_dir: Path, prom: dict[str, list[dict]], spans: list[Span], t0: float, t1: float) -> list[str]:
    """Every chart on the run's one time axis, from the artifacts there are."""
    out = []
    timeline_path = run_dir / "load" / "timeline.jsonl"
    if timeline_path.exists():
        client = client_series(load_timeline(timeline_path))
        out.append(chart("Client traffic (Locust)", client["traffic"], t0, t1, spans, "per second"))
        out.append(chart("Client latency (Locust)", client["latency"], t0, t1, spans, "s"))
    if prom:
        out.append(chart("Server traffic (Prometheus)", {
            "requests/s": [tuple(v) for r in prom.get("server_rps", []) for v in r["values"]],
            "errors/s": [tuple(v) for r in prom.get("server_errors_per_s", []) for v in r["values"]]},
            t0, t1, spans, "per second"))
        out.append(chart("Server latency (Prometheus)", {
            f"p{q}": [tuple(v) for r in prom.get(f"server_p{q}_s", []) for v in r["values"]] for q in (50, 95, 99)},
            t0, t1, spans, "s"))
    readiness_path = run_dir / "readiness.jsonl"
    if readiness_path.exists():
        frame = load_readiness(readiness_path)
        series = {}
        for name, rows in frame[frame.kind == "deployment"].groupby("name"):
            for column in ("ready", "desired"):
                series[f"{name} {column}"] = list(zip(rows.t, rows[column].astype(object).where(rows[column].notna(), None)))
        out.append(chart("Replicas per Deployment (sampled ≤ 1 s)", series, t0, t1, spans, "pods"))
    if prom:
        out.append(chart("HPA CPU utilization vs target", {
            **_named(prom.get("hpa_cpu_utilization", []), "horizontalpodautoscaler"),
            **_named(prom.get("hpa_cpu_target", []), "horizontalpodautoscaler", " target")},
            t0, t1, spans, "% of request"))
        out.append(chart("PDB allowed disruptions", _named(prom.get("pdb_disruptions_allowed", []), "poddisruptionbudget"),
                         t0, t1, spans, "pods"))
        out.append(chart("Node Ready", _named(prom.get("node_ready", []), "node"), t0, t1, spans, "1 = Ready", y_max=1.2))
    return out


def build_report(run_dir: Path) -> Path:
    """Writes run_dir/report.html from the artifacts; returns its path."""
    run_dir = Path(run_dir)
    verdicts, journal = _json(run_dir / "verdicts.json") or {}, _json(run_dir / "journal.json") or {}
    missing = [name for name in ("verdicts.json", "journal.json", "load/timeline.jsonl", "readiness.jsonl",
                                 "prometheus.jsonl") if not (run_dir / name).exists()]
    start = _ts(journal["start"]) if journal.get("start") else None
    end = _ts(journal["end"]) if journal.get("end") else None
    spans = action_spans(journal) if journal else []
    prom = prometheus_series(run_dir / "prometheus.jsonl")
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        run=run_dir.name, title=(journal.get("experiment") or {}).get("title", run_dir.name),
        status=verdicts.get("status", "unknown"), error=verdicts.get("error", ""), notes=verdicts.get("notes", []),
        verdicts=verdicts.get("verdicts", []), journal_status=journal.get("status", "no journal"),
        start=clock(start) if start else "?", end=clock(end) if end else "?",
        date=pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d") if start else "?",
        spans=[{"label": s.label, "start": clock(s.start), "seconds": round(s.end - s.start, 1)} for s in spans],
        charts=charts(run_dir, prom, spans, start - 30, end + 30) if start and end else [],
        alerts=alerts_table(prom, verdicts.get("verdicts", [])), missing=missing,
        artifacts=sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and p.name != "report.html"))
    out = run_dir / "report.html"
    out.write_text(html)
    return out
