"""Alerts: which were pending/firing and since when (ALERTS over a window, and the live
/api/v1/alerts), and whether a rule can fire at all: every metric its expression names must exist
in Prometheus, or the rule is dead however bad things get."""

import logging
import re

import pandas as pd

from core.durations import seconds
from core.verdict import Verdict, Window, inconclusive, judged
from edge.poll import poll
from edge.prometheus import Prometheus, PrometheusError

log = logging.getLogger("chaostoolkit")

# PromQL words that are not metric names where an identifier can stand
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
             "offset", "bool", "inf", "nan", "atan2", "start", "end"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a light lexer, not a full parser): identifiers
    that are neither functions/aggregations (followed by '('), keywords, label names inside
    {...} or by/without/on/ignoring (...) lists, nor durations/strings."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)          # strings
    names = set()
    for m in re.finditer(r'__name__\s*=\s*"((?:\\.|[^"\\])*)"', expr):
        names.add(m.group(1))
    text = re.sub(r"\{[^}]*\}", "{}", text)                                          # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)                                          # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    for m in re.finditer(r"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*", text):  # not inside 5m, 1e-3
        word, rest = m.group(0), text[m.end():].lstrip()
        if word.lower() in _KEYWORDS or rest.startswith("("):
            continue
        names.add(word)
    return names


def alert_can_fire(prom: Prometheus, alert: str, expr: str, window: Window) -> Verdict:
    """pass: every metric the rule names has series in the window; fail: name what is absent."""
    check, subject, expected = "alert_can_fire", alert, "every metric the expression names exists"
    metrics = sorted(metric_names(expr))
    if not metrics:
        return inconclusive(check, expected, f"no metric name found in {expr!r}", window, subject=subject)
    try:
        absent = [m for m in metrics if not prom.series_exist(m, window)]
    except PrometheusError as err:
        return inconclusive(check, expected, str(err), window, evidence={"expr": expr, "metrics": metrics},
                            subject=subject)
    observed = f"absent: {', '.join(absent)}" if absent else f"all present: {', '.join(metrics)}"
    return judged(check, not absent, expected, observed, window,
                  reason=f"cannot fire: {', '.join(absent)} not in Prometheus" if absent else "",
                  evidence={"expr": expr, "metrics": metrics, "absent": absent}, subject=subject)


def _label_key(frame: pd.DataFrame) -> pd.Series:
    labels = sorted(c for c in frame.columns if c not in ("timestamp", "value", "alertstate", "__name__"))
    return frame[labels].fillna("").astype(str).agg(",".join, axis=1)


TIMELINE_COLUMNS = ["alertname", "labels", "severity", "pending_at", "firing_at", "last_firing_at"]


TIMELINE_STEP_S = 1.0


def alert_timeline(prom: Prometheus, window: Window, step_s: float = TIMELINE_STEP_S,
                   labels: dict | None = None) -> pd.DataFrame:
    """One row per alert (and label set): when it went pending (its activeAt, exact, from
    ALERTS_FOR_STATE), first and last seen firing (ALERTS, at step_s resolution); only the
    alerts carrying `labels` when given (e.g. {"alertname": ..., "namespace": ...})."""
    matchers = "{" + ", ".join(f'{k}="{v}"' for k, v in (labels or {}).items()) + "}"
    alerts = prom.range(f"ALERTS{matchers}", window, step_s)
    if alerts.empty:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    alerts["labels"] = _label_key(alerts)
    for_state = prom.range(f"ALERTS_FOR_STATE{matchers}", window, step_s)
    active_at = {}
    if not for_state.empty:
        for_state["labels"] = _label_key(for_state)
        active_at = for_state.groupby("labels").value.min().to_dict()
    rows = []
    for (alertname, key), group in alerts.groupby(["alertname", "labels"]):
        firing = group[group.alertstate == "firing"].timestamp
        pending = group[group.alertstate == "pending"].timestamp
        pending_at = (pd.to_datetime(active_at[key], unit="s", utc=True) if key in active_at
                      else pending.min() if len(pending) else pd.NaT)
        severity = group["severity"].iloc[0] if "severity" in group else None
        rows.append({"alertname": alertname, "labels": key, "severity": severity, "pending_at": pending_at,
                     "firing_at": firing.min() if len(firing) else pd.NaT,
                     "last_firing_at": firing.max() if len(firing) else pd.NaT})
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def active_alerts(prometheus_url: str, timeout_s: float = 10.0) -> list[dict]:
    """Prometheus's /api/v1/alerts: the alerts pending or firing now, with activeAt."""
    return Prometheus(prometheus_url, timeout_s).api("alerts")["alerts"]


# ---- how fast an alert can fire: its rule's `for`, its group's evaluation interval, the scrape ----

class RuleNotLoaded(PrometheusError):
    """Prometheus answered, and has no alerting rule of that name: the alert cannot fire."""


def rule_timing(prom: Prometheus, alertname: str) -> dict:
    """for_s, eval_s, scrape_s (the longest scrape interval of the active targets) and severity of
    the loaded rule `alertname`, from Prometheus itself: the timing that applies, not the file's."""
    for group in prom.api("rules", type="alert")["groups"]:
        for rule in group["rules"]:
            if rule["name"] == alertname:
                targets = prom.api("targets", state="active")["activeTargets"]
                return {"for_s": seconds(rule.get("duration", 0)), "eval_s": seconds(group["interval"]),
                        "scrape_s": max((seconds(t["scrapeInterval"]) for t in targets), default=0.0),
                        "severity": rule.get("labels", {}).get("severity"), "expr": rule["query"]}
    raise RuleNotLoaded(f"{prom.url}: no alerting rule named {alertname!r} is loaded")


def _of(timeline: pd.DataFrame, alertname: str) -> pd.DataFrame:
    """The alert's rows, times as UTC (a column with no time at all comes back tz-naive)."""
    rows = timeline[timeline.alertname == alertname].copy()
    for column in ("pending_at", "firing_at", "last_firing_at"):
        rows[column] = pd.to_datetime(rows[column], utc=True)
    return rows


def alert_fired(timeline: pd.DataFrame, alertname: str, fault_at: pd.Timestamp, detection_s: float,
                timing: dict, window: Window) -> Verdict:
    """pass: `alertname` went firing no later than the fault + detection_s (how long the fault
    takes to show in a metric, e.g. the node-monitor grace period) + for + evaluation + scrape;
    the measured time to fire is reported either way."""
    bound = detection_s + timing["for_s"] + timing["eval_s"] + timing["scrape_s"]
    check, subject = "alert_fired", alertname
    expected = (f"firing within {bound:.0f} s of the fault (detection {detection_s:.0f} + for {timing['for_s']:.0f}"
                f" + evaluation {timing['eval_s']:.0f} + scrape {timing['scrape_s']:.0f})")
    rows = _of(timeline, alertname)
    evidence = [{k: (v.isoformat() if isinstance(v, pd.Timestamp) and not pd.isna(v) else v)
                 for k, v in r.items() if k != "severity"} for r in rows.to_dict("records")]
    if (rows.firing_at < fault_at).any():
        return inconclusive(check, expected, f"{alertname} was already firing before the fault: "
                            "its firing cannot be timed", window, evidence, subject=subject)
    firing = rows.firing_at.dropna()
    if firing.empty:
        pending = rows.pending_at.dropna()
        observed = (f"never fired; pending since {pending.min().isoformat()}" if len(pending)
                    else "never fired, never pending")
        return judged(check, False, expected, observed, window, evidence,
                      reason=f"{alertname} did not fire within the run", bound_s=bound, subject=subject)
    took = (firing.min() - fault_at).total_seconds()
    return judged(check, took <= bound, expected, f"firing {took:.0f} s after the fault", window, evidence,
                  reason="" if took <= bound else f"took {took - bound:.0f} s longer than its rule allows",
                  fire_after_s=took, bound_s=bound, subject=subject)


def alert_resolved(timeline: pd.DataFrame, alertname: str, restored_at: pd.Timestamp, window: Window) -> Verdict:
    """pass: `alertname` stopped firing after the fault was undone (restored_at) and before the
    end of the window. The timeline's range query has a step every second up to the end: an
    alert still firing has a sample at the last one; a resolved alert's series ends (staleness
    marker), so a step inside the window follows its last firing sample without one."""
    check, subject, expected = "alert_resolved", alertname, "not firing any more after the fault is undone"
    firing = _of(timeline, alertname).last_firing_at.dropna()
    if firing.empty:
        return inconclusive(check, expected, f"{alertname} never fired: nothing to resolve", window, subject=subject)
    last = firing.max()
    if last + pd.Timedelta(seconds=TIMELINE_STEP_S) > pd.Timestamp(window.end):
        return judged(check, False, expected, f"still firing at {last.isoformat()}, the end of the run", window,
                      reason=f"{alertname} did not resolve within the run", subject=subject)
    after = (last - restored_at).total_seconds()
    return judged(check, True, expected, f"last firing {after:.0f} s after the restore", window,
                  resolved_after_s=after, subject=subject)


def unexpected_critical_alerts(timeline: pd.DataFrame, expected: set[str], window: Window) -> Verdict:
    """fail: an alert of severity critical that the experiment did not expect fired in the window."""
    rows = timeline[(timeline.severity == "critical") & timeline.firing_at.notna() & ~timeline.alertname.isin(expected)]
    names = sorted(set(rows.alertname))
    return judged("no_unexpected_critical_alert", not names,
                  f"no critical alert fired but {', '.join(sorted(expected)) or 'none'}",
                  f"fired: {', '.join(names)}" if names else "none", window,
                  evidence=[{"alertname": r.alertname, "firing_at": r.firing_at.isoformat()} for r in rows.itertuples()],
                  reason=f"critical alerts nobody expected: {', '.join(names)}" if names else "")


# ---- Chaos Toolkit probe: wait for an alert's state (long waits show progress) ----

def wait_for_alert(prometheus_url: str, alertname: str, state: str = "firing", timeout_s: float = 600,
                   labels: dict | None = None, poll_s: float = 2) -> dict:
    """Waits until `alertname` (the instances carrying `labels`, when given) is `state` in
    Prometheus (firing, pending, or inactive: neither), or timeout_s passes. Returns whether it
    got there, and after how long."""
    wanted = {**(labels or {}), "alertname": alertname}.items()

    def check():
        states = {a["state"] for a in active_alerts(prometheus_url) if wanted <= a["labels"].items()}
        seen = "firing" if "firing" in states else "pending" if states else "inactive"
        return seen == state, seen
    reached, seen, waited = poll(check, timeout_s, f"{alertname} to be {state}", poll_s)
    return {"alertname": alertname, "state": seen, "reached": reached, "waited_s": waited}
