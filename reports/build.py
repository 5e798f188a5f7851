"""One self-contained HTML report per run, built from the run directory alone (no cluster, no
Prometheus): verdicts.json, journal.json, the Locust timeline, the readiness samples and
prometheus.jsonl. Whatever an artifact lacks is said in the report, never drawn as zero.

    gameday report runs/<run>/        (writes runs/<run>/report.html)
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from actions import UNDONE_BY
from core.verdict import utc
from edge.files import read_json_lines
from edge.rundir import load_readiness, load_timeline, load_users
from reports.budget import BURN_WINDOW_S, PAGE, PERIOD_S, TICKET, error_budgets, latencies_long, objectives_of, per_second
from reports.svg import Span, chart, clock

TEMPLATES = Path(__file__).resolve().parent
QUANTILES = (0.5, 0.95, 0.99)


def _json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _ts(text: str) -> float:
    return utc(text).timestamp()


def _actions(journal: dict, part: str) -> list[dict]:
    return [r for r in journal.get(part) or [] if r["activity"].get("type") == "action"]


def action_spans(journal: dict) -> list[Span]:
    """The method's actions and the rollbacks, each from its start to its end."""
    return [Span(_ts(r["start"]), _ts(r["end"]), r["activity"]["name"])
            for r in _actions(journal, "run") + _actions(journal, "rollbacks")]


def _func(record: dict) -> str:
    return record["activity"].get("provider", {}).get("func", "")


def fault_windows(journal: dict) -> list[Span]:
    """From each action that leaves a fault in place (a stopped node, a drained node, a changed
    Deployment) to the end of the first action that undoes it; to the run's end if none did."""
    records = _actions(journal, "run") + _actions(journal, "rollbacks")
    spans = []
    for i, record in enumerate(records):
        undo = UNDONE_BY.get(_func(record))
        if not undo:
            continue
        undone = next((r for r in records[i + 1:] if _func(r) == undo), None)
        end = _ts(undone["end"]) if undone else _ts(journal["end"])
        spans.append(Span(_ts(record["start"]), end, f"{record['activity']['name']} until "
                          + (undone["activity"]["name"] if undone else "the end (never undone in the run)"), "fault"))
    return spans


def load_spans(users: pd.DataFrame, baseline: int | None) -> list[Span]:
    """Stretches where Locust ran more users than the profile's baseline (a surge, the steps)."""
    baseline = baseline if baseline is not None else int(users.users[users.users > 0].min() or 0)
    above = users.users > baseline
    spans = []
    for _, rows in users[above].groupby((above != above.shift()).cumsum()[above]):
        spans.append(Span(float(rows.t.iloc[0]), float(rows.t.iloc[-1]),
                          f"load above {baseline} users, up to {int(rows.users.max())}", "load"))
    return spans


def client_series(timeline: pd.DataFrame, long: pd.DataFrame | None = None) -> dict[str, dict]:
    """Per second: requests, failures, and latency quantiles over every endpoint (Locust)."""
    seconds = per_second(timeline)
    long = (latencies_long(timeline) if long is None else long).sort_values(["t", "ms"])
    reached = long.groupby("t").n.cumsum() / long.groupby("t").n.transform("sum")
    latency = {f"p{int(q * 100)}": list((long[reached >= q].groupby("t").ms.first() / 1000).items())
               for q in QUANTILES}
    return {"traffic": {"requests/s": list(seconds.requests.items()), "failures/s": list(seconds.failures.items())},
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


@dataclass
class Artifacts:
    """What the run directory holds, read once."""
    dir: Path
    verdicts: dict
    journal: dict
    prom: dict[str, list[dict]]
    timeline: pd.DataFrame | None = None
    long: pd.DataFrame | None = None        # (second, latency, count): quantiles and budgets share it
    users: pd.DataFrame | None = None
    profile: dict | None = None

    @classmethod
    def read(cls, run_dir: Path) -> "Artifacts":
        run_dir = Path(run_dir)
        found = cls(run_dir, _json(run_dir / "verdicts.json") or {}, _json(run_dir / "journal.json") or {},
                    prometheus_series(run_dir / "prometheus.jsonl"), profile=_json(run_dir / "load" / "profile.json"))
        if (run_dir / "load" / "timeline.jsonl").exists():
            found.timeline = load_timeline(run_dir / "load" / "timeline.jsonl")
            found.long = latencies_long(found.timeline)
        if (run_dir / "load" / "locust_stats_history.csv").exists():
            found.users = load_users(run_dir / "load" / "locust_stats_history.csv")
        return found

    def spans(self) -> list[Span]:
        if not self.journal.get("end"):
            return []
        loads = load_spans(self.users, (self.profile or {}).get("users")) if self.users is not None else []
        return fault_windows(self.journal) + loads + action_spans(self.journal)


def charts(run: Artifacts, spans: list[Span], t0: float, t1: float) -> list[str]:
    """Every chart on the run's one time axis, from the artifacts there are."""
    out, prom = [], run.prom
    if run.timeline is not None:
        client = client_series(run.timeline, run.long)
        users = {"users": list(zip(run.users.t, run.users.users))} if run.users is not None else {}
        out.append(chart("Client traffic (Locust)", {**client["traffic"], **users}, t0, t1, spans, "per second; users"))
        out.append(chart("Client latency (Locust)", client["latency"], t0, t1, spans, "s"))
    if prom:
        out.append(chart("Server traffic (Prometheus)", {
            "requests/s": [tuple(v) for r in prom.get("server_rps", []) for v in r["values"]],
            "errors/s": [tuple(v) for r in prom.get("server_errors_per_s", []) for v in r["values"]]},
            t0, t1, spans, "per second"))
        out.append(chart("Server latency (Prometheus)", {
            f"p{q}": [tuple(v) for r in prom.get(f"server_p{q}_s", []) for v in r["values"]] for q in (50, 95, 99)},
            t0, t1, spans, "s"))
    readiness_path = run.dir / "readiness.jsonl"
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
        if prom.get("deployment_rps"):
            out.append(chart("Requests per Deployment (Prometheus)", _named(prom["deployment_rps"], "deployment"),
                             t0, t1, spans, "per second"))
        out.append(chart("PDB allowed disruptions", _named(prom.get("pdb_disruptions_allowed", []), "poddisruptionbudget"),
                         t0, t1, spans, "pods"))
        zones = run.verdicts.get("target", {}).get("zones", {})
        ready = {f"{node} ({zones[node]})" if node in zones else node: values
                 for node, values in _named(prom.get("node_ready", []), "node").items()}
        out.append(chart("Node Ready (zone)", ready, t0, t1, spans, "1 = Ready", y_max=1.2))
    return out


def burn_chart(series: dict[str, list], t0: float, t1: float, spans: list[Span]) -> str:
    reference = {f"{rate:g}×{label}": [(t0, rate), (t1, rate)] for rate, label in
                 ((1, " (on budget)"), (TICKET, " ticket"), (PAGE, " page"))}
    return chart(f"Error-budget burn rate ({BURN_WINDOW_S} s rolling, Locust)", {**series, **reference}, t0, t1, spans,
                 "× the allowed rate")


def build_report(run_dir: Path) -> Path:
    """Writes run_dir/report.html from the artifacts; returns its path."""
    run = Artifacts.read(run_dir)
    verdicts, journal = run.verdicts, run.journal
    missing = [name for name in ("verdicts.json", "journal.json", "load/timeline.jsonl", "readiness.jsonl",
                                 "prometheus.jsonl") if not (run.dir / name).exists()]
    start = _ts(journal["start"]) if journal.get("start") else None
    end = _ts(journal["end"]) if journal.get("end") else None
    spans = run.spans()
    budgets = {"rows": [], "series": {}}
    if run.timeline is not None:
        faults = [(s.start, s.end) for s in spans if s.kind != "load"]
        budgets = error_budgets(run.timeline, objectives_of(verdicts.get("verdicts", []), run.profile), faults,
                                run.long)
    t0, t1 = (start - 30, end + 30) if start and end else (None, None)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["clock"] = clock
    html = env.get_template("report.html.j2").render(
        run=run.dir.name, target=verdicts.get("target") or {}, title=(journal.get("experiment") or {}).get("title", run.dir.name),
        status=verdicts.get("status", "unknown"), error=verdicts.get("error", ""), notes=verdicts.get("notes", []),
        verdicts=verdicts.get("verdicts", []), journal_status=journal.get("status", "no journal"),
        start=clock(start) if start else "?", end=clock(end) if end else "?",
        date=pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d") if start else "?",
        spans=[{"label": s.label, "kind": s.kind, "start": clock(s.start), "seconds": round(s.end - s.start, 1)}
               for s in spans],
        charts=charts(run, spans, t0, t1) if t0 else [],
        budgets=budgets["rows"], period_days=PERIOD_S // 86400, burn_window_s=BURN_WINDOW_S,
        burn=burn_chart(budgets["series"], t0, t1, spans) if t0 and budgets["series"] else "",
        capacity=[{**v["details"], "name": v["name"], "status": v["status"]} for v in verdicts.get("verdicts", [])
                  if v["name"].startswith("capacity_for_target") and v.get("details")],
        alerts=alerts_table(run.prom, verdicts.get("verdicts", [])), missing=missing,
        artifacts=sorted(str(p.relative_to(run.dir)) for p in run.dir.rglob("*") if p.is_file() and p.name != "report.html"))
    out = run.dir / "report.html"
    out.write_text(html)
    return out
