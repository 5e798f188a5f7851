"""One self-contained HTML report per run, built from the run directory alone (no cluster, no
Prometheus): verdicts.json, journal.json, the Locust timeline, the readiness samples, the
guardrails' samples and prometheus.jsonl. Whatever an artifact lacks is said in the report, never drawn as zero.

    gameday report runs/<run>/        (writes runs/<run>/report.html)
"""

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.checks import CHECKS, SIMULATED_NOTE
from core.faults import FAULTS
from core.generators import CPU_LIMIT, generator_warning, generators
from core.guardrails import parse_guardrail
from core.ledger import TIMELINE, cache_ledger, ledger_timeline
from core.load_stats import PerSecond
from core.predictions import DRAIN_COMPLETES, FIRE_AFTER, Prediction, shown_prediction
from core.verdict import utc
from edge.rundir import RunDir
from reports.budget import BURN_WINDOW_S, PAGE, PERIOD_S, TICKET, error_budgets, objectives_of
from reports.svg import Span, chart, clock

TEMPLATES = Path(__file__).resolve().parent
QUANTILES = (0.5, 0.95, 0.99)


def _ts(text: str) -> float:
    return utc(text).timestamp()


def action_spans(run: RunDir) -> list[Span]:
    """The method's activities (its probes too: a look such as a reachability matrix takes time)
    and the rollbacks, each from its start to its end."""
    return [Span(_ts(r["start"]), _ts(r["end"]),
                 r["activity"]["name"] + (" (probe)" if r["activity"].get("type") == "probe" else ""))
            for r in run.activities("run", kind=None) + run.activities("rollbacks")]


def _func(record: dict) -> str:
    return record["activity"].get("provider", {}).get("func", "")


def fault_windows(run: RunDir) -> list[Span]:
    """From each action that leaves a fault in place (a stopped node, a drained node, a changed
    Deployment: core.faults) to the end of the first action that undoes it; to the run's end if
    none did."""
    records = run.activities("run") + run.activities("rollbacks")
    spans = []
    for i, record in enumerate(records):
        fault = FAULTS.get(_func(record))
        if not fault:
            continue
        undone = next((r for r in records[i + 1:] if _func(r) == fault.undo), None)
        end = _ts(undone["end"]) if undone else run.window.end.timestamp()
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


def client_series(load: PerSecond) -> dict[str, dict]:
    """Per second: requests, failures, and latency quantiles over every endpoint (Locust)."""
    seconds, long = load.counts, load.latencies.sort_values(["t", "ms"])
    reached = long.groupby("t").n.cumsum() / long.groupby("t").n.transform("sum")
    latency = {f"p{int(q * 100)}": long[reached >= q].groupby("t").ms.first() / 1000 for q in QUANTILES}
    return {"traffic": {"requests/s": seconds.requests, "failures/s": seconds.failures}, "latency": latency}


def _named(rows: list[dict], label: str, suffix: str = "") -> dict[str, pd.Series]:
    return {f"{r['labels'].get(label, '?')}{suffix}": _joined([r]) for r in rows}


def _joined(rows: list[dict]) -> pd.Series:
    """The values of recorded Prometheus series (RunDir.prometheus), one series indexed by time."""
    values = np.concatenate([r["values"] for r in rows]) if rows else np.empty((0, 2))
    return pd.Series(values[:, 1], index=values[:, 0])


def _expected_alerts(verdicts: list[dict]) -> dict[str, str]:
    """{alert: what its verdicts said}: fired (measured against its bound), resolved, delivered."""
    said: dict[str, list[str]] = {}
    for v in verdicts:
        check, alert = v["check"], v["subject"].partition(",")[0]
        if check == "alert_fired":
            bound = (v.get("details") or {}).get("bound_s")
            said.setdefault(alert, []).insert(0, f"{v['status']}: {v['observed']}"
                                                 + (f" (bound {bound:.0f} s)" if bound else ""))
        elif check == "alert_resolved":
            said.setdefault(alert, []).append(f"resolved {v['status']}: {v['observed']}")
        elif check == "alert_delivered":
            status = v["subject"].partition(",")[2]
            said.setdefault(alert, []).append(f"{status} notification {'delivered' if v['status'] == 'pass' else v['status']}")
    return {alert: "; ".join(parts) for alert, parts in said.items()}


def predictions_table(predictions: list[dict], verdicts: list[dict]) -> list[dict]:
    """Each prediction beside what its verdict observed: a count from the verdict's details, a
    completion from its status, an alert that never fired as False; `agrees` None when no verdict
    judged it on data or nothing was predicted; a predicted range (low–high) agrees with any count
    inside it."""
    by_name = {v["name"]: v for v in verdicts}
    rows = []
    for p in predictions:
        verdict = by_name.get(p["verdict"])
        observed = None if verdict is None or verdict["status"] == "inconclusive" else _observed(p["measure"], verdict)
        low, high = p.get("low"), p.get("high")
        if observed is None or p["predicted"] is None:
            agrees = None
        elif low is not None and high is not None and observed is not False and p["predicted"] is not False:
            agrees = low <= observed <= high
        else:
            agrees = observed == p["predicted"]
        rows.append({**p, "predicted": shown_prediction(Prediction(**p)),
                     "observed": "not judged" if observed is None else "never fired" if observed is False
                     and p["measure"] == FIRE_AFTER else observed, "agrees": agrees})
    return rows


def _observed(measure: str, verdict: dict) -> int | bool | None:
    if measure == DRAIN_COMPLETES:
        return verdict["status"] == "pass"
    value = (verdict.get("details") or {}).get(measure)
    if value is None:   # judged, yet not measured: an alert that never fired
        return False if measure == FIRE_AFTER else None
    return int(float(value))   # however verdicts.json kept it (numpy's ints are written as text)


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


MAX_DEPLOYMENTS_DRAWN = 6   # lines a chart's legend holds readably: a pair per Deployment


def spans_of(run: RunDir) -> list[Span]:
    """The faults in effect, the load's surges and every action, on the run's time axis."""
    if run.window is None:
        return []
    loads = load_spans(run.users, (run.profile or {}).get("users")) if run.users is not None else []
    return fault_windows(run) + loads + action_spans(run)


def charts(run: RunDir, spans: list[Span], t0: float, t1: float) -> list[str]:
    """Every chart on the run's one time axis, from the artifacts there are."""
    out, prom = [], run.prometheus
    if run.per_second is not None:
        client = client_series(run.per_second)
        users = {"users": run.users.set_index("t").users} if run.users is not None else {}
        out.append(chart("Client traffic (Locust)", {**client["traffic"], **users}, t0, t1, spans, "per second; users"))
        out.append(chart("Client latency (Locust)", client["latency"], t0, t1, spans, "s"))
    if prom:
        out.append(chart("Server traffic (Prometheus)", {
            "requests/s": _joined(prom.get("server_rps", [])), "errors/s": _joined(prom.get("server_errors_per_s", []))},
            t0, t1, spans, "per second"))
        out.append(chart("Server latency (Prometheus)", {
            f"p{q}": _joined(prom.get(f"server_p{q}_s", [])) for q in (50, 95, 99)},
            t0, t1, spans, "s"))
    out += ledger_charts(run, t0, t1, spans)
    out += guardrail_charts(run, t0, t1, spans)
    if run.readiness is not None:
        out.append(replicas_chart(run.readiness, t0, t1, spans))
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
        zones = (run.record or {}).get("target", {}).get("zones", {})
        ready = {f"{node} ({zones[node]})" if node in zones else node: values
                 for node, values in _named(prom.get("node_ready", []), "node").items()}
        out.append(chart("Node Ready (zone)", ready, t0, t1, spans, "1 = Ready", y_max=1.2))
    return out


def replicas_chart(readiness: pd.DataFrame, t0: float, t1: float, spans: list[Span]) -> str:
    """Ready and desired replicas per Deployment; past MAX_DEPLOYMENTS_DRAWN (a scaled copy's
    hundreds), the sum over all of them and the few that fell furthest below their desired."""
    rows = readiness[readiness.kind == "deployment"]
    names, title = rows.name.unique().tolist(), "Replicas per Deployment (sampled ≤ 1 s)"
    series = {}
    if len(names) > MAX_DEPLOYMENTS_DRAWN:
        short = (rows.desired - rows.ready).groupby(rows.name, observed=True).max().sort_values(ascending=False)
        names = short.index[:MAX_DEPLOYMENTS_DRAWN - 1].tolist()
        by_t = rows.groupby("t")
        series = {f"all {len(short)} ready": by_t.ready.sum(min_count=1), f"all {len(short)} desired": by_t.desired.sum(min_count=1)}
        title = (f"Replicas of {len(short)} Deployments, and the {len(names)} that fell furthest below desired "
                 "(sampled ≤ 1 s)")
    for name in names:
        of = rows[rows.name == name].set_index("t")
        for column in ("ready", "desired"):
            series[f"{name} {column}"] = of[column]
    return chart(title, series, t0, t1, spans, "pods")


def ledger_charts(run: RunDir, t0: float, t1: float, spans: list[Span]) -> list[str]:
    """The writers' ledger per second (lost: acknowledged, then not read back), and how many pods
    of each elected group were labelled leader at each sample (two is a split brain)."""
    out = []
    if run.ledger is not None:
        timeline = ledger_timeline(run.ledger, run.readback)
        out.append(chart("Writes (the writers' ledger" + ("" if run.readback and run.readback.found is not None
                                                          else "; no read-back: lost unknown") + ")",
                         {name: list(zip(timeline.t, timeline[name])) for name in TIMELINE[1:]}, t0, t1, spans,
                         "orders per second"))
        if run.cache_readback is not None and run.ledger.cached.any():
            cached = ledger_timeline(cache_ledger(run.ledger), run.cache_readback)
            out.append(chart("Cache writes (orders the cache took; lost: not in it after the run)",
                             {name: list(zip(cached.t, cached[name])) for name in ("acknowledged", "lost")},
                             t0, t1, spans, "orders per second"))
    roles = run.readiness[run.readiness.kind == "role"] if run.readiness is not None else None
    if roles is not None and not roles.empty:
        # a label left on a pod that is not ready routes nothing (split_brain counts it apart)
        groups = roles.assign(group=roles.name.str.split("/").str[0], leads=roles.leader.eq(True),
                              serving=roles.leader.eq(True) & roles.ready.eq(True))
        series = {}
        for group, rows in groups.groupby("group"):
            by_t = rows.groupby("t")
            series[f"{group}: ready pods labelled leader"] = list(by_t.serving.sum().astype(int).items())
            series[f"{group}: labelled leader, ready or not"] = list(by_t.leads.sum().astype(int).items())
        out.append(chart("Leaders (sampled ≤ 1 s)", series, t0, t1, spans, "pods", y_max=3))
    return out


def guardrail_charts(run: RunDir, t0: float, t1: float, spans: list[Span]) -> list[str]:
    """Each guardrail's samples against its limit (a gap where the watcher was blind)."""
    if run.guardrails is None:
        return []
    out = []
    for expr, rows in run.guardrails.groupby("guardrail", sort=False):
        limit = parse_guardrail(expr).condition.limit
        values = [None if pd.isna(v) else float(v) for v in rows.value]
        out.append(chart(f"Guardrail: {expr}", {"sampled": list(zip(rows.t, values)), "limit": [(t0, limit), (t1, limit)]},
                         t0, t1, spans))
    return out


def burn_chart(series: dict[str, list], t0: float, t1: float, spans: list[Span]) -> str:
    reference = {f"{rate:g}×{label}": [(t0, rate), (t1, rate)] for rate, label in
                 ((1, " (on budget)"), (TICKET, " ticket"), (PAGE, " page"))}
    return chart(f"Error-budget burn rate ({BURN_WINDOW_S} s rolling, Locust)", {**series, **reference}, t0, t1, spans,
                 "× the allowed rate")


def zone_loss_charts(verdicts: list[dict], t0: float, t1: float, spans: list[Span]) -> list[str]:
    """The scaled copy through each simulated zone loss: replicas available and desired, pods
    evicted from the lost zone, Pending for want of a node (zone_loss_rescheduled's evidence)."""
    out = []
    for v in verdicts:
        if v["check"] != "zone_loss_rescheduled" or not isinstance(v.get("evidence"), list) or not v.get("window"):
            continue
        start = utc(v["window"]["start"]).timestamp()
        series = {name: [(start + row[0], row[i]) for row in v["evidence"]]
                  for i, name in ((1, "available"), (2, "desired"), (3, "Pending, unschedulable"),
                                  (4, "evicted from the lost zone"))}
        out.append(chart(f"Scaled copy through the zone loss ({v['subject']}, simulated nodes)", series, t0, t1, spans,
                         "pods"))
    return out


def reachability_tables(verdicts: list[dict]) -> list[dict]:
    """Per reachability verdict, its matrix path by path: what each path's cells saw, counted."""
    tables = []
    for v in verdicts:
        if v["check"] != "reachability" or not isinstance(v.get("evidence"), dict):
            continue
        paths = [{**p, "seen": Counter(c["outcome"] for c in p["cells"])} for p in v["evidence"].get("paths", [])]
        tables.append({"name": v["name"], "status": v["status"], "timeout_s": v["evidence"].get("timeout_s"),
                       "paths": paths})
    return tables


def build_report(run_dir: Path) -> Path:
    """Writes run_dir/report.html from the artifacts; returns its path."""
    run = RunDir(run_dir)
    record, journal = run.record or {}, run.journal or {}
    verdicts = record.get("verdicts", [])
    missing = [name for name in ("verdicts.json", "journal.json", "load/timeline.jsonl", "readiness.jsonl",
                                 "prometheus.jsonl") if not run.has(name)]
    start, end = (run.window.start.timestamp(), run.window.end.timestamp()) if run.window else (None, None)
    spans = spans_of(run)
    gens = generators(run.generators) if run.generators is not None else []
    budgets = {"rows": [], "series": {}}
    if run.per_second is not None:
        faults = [(s.start, s.end) for s in spans if s.kind != "load"]
        budgets = error_budgets(run.per_second, objectives_of(verdicts, run.profile), faults)
    t0, t1 = (start - 30, end + 30) if start and end else (None, None)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["clock"] = clock
    html = env.get_template("report.html.j2").render(
        run=run.path.name, target=record.get("target") or {},
        title=(journal.get("experiment") or {}).get("title", run.path.name),
        status=record.get("status", "unknown"), error=record.get("error", ""), halted=record.get("halted", ""),
        notes=record.get("notes", []), generators=gens, generator_warning=generator_warning(gens), cpu_limit=CPU_LIMIT,
        verdicts=verdicts, journal_status=journal.get("status", "no journal"),
        start=clock(start) if start else "?", end=clock(end) if end else "?",
        date=pd.Timestamp(start, unit="s", tz="UTC").strftime("%Y-%m-%d") if start else "?",
        spans=[{"label": s.label, "kind": s.kind, "start": clock(s.start), "seconds": round(s.end - s.start, 1)}
               for s in spans],
        charts=(charts(run, spans, t0, t1) + zone_loss_charts(verdicts, t0, t1, spans)) if t0 else [],
        simulated_note=SIMULATED_NOTE if any(CHECKS.get(v["check"]) and CHECKS[v["check"]].simulated
                                             for v in verdicts) else "",
        # a copy sized for a traffic target by a capacity model (zone-loss-at-target): how, once
        copy_sized=sorted({(v.get("details") or {}).get("sized") for v in verdicts} - {None, ""}),
        budgets=budgets["rows"], period_days=PERIOD_S // 86400, burn_window_s=BURN_WINDOW_S,
        burn=burn_chart(budgets["series"], t0, t1, spans) if t0 and budgets["series"] else "",
        capacity=[{**v["details"], "name": v["name"], "status": v["status"]} for v in verdicts
                  if v["check"] == "capacity_for_target" and v.get("details")],
        reachability=reachability_tables(verdicts),
        alerts=alerts_table(run.prometheus, verdicts), predictions=predictions_table(run.predictions, verdicts),
        missing=missing,
        artifacts=sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*") if p.is_file() and p.name != "report.html"))
    out = run.path / "report.html"
    out.write_text(html)
    return out
