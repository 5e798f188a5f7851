"""Alerts: which were pending/firing and since when (ALERTS over a window, and the live
/api/v1/alerts), and whether a rule can fire at all: every metric its expression names must exist
in Prometheus, or the rule is dead however bad things get."""

import re

import pandas as pd
import requests

from probes.prometheus import Prometheus, PrometheusError
from probes.verdict import Verdict, Window, inconclusive, judged

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
    name, expected = f"alert_can_fire[{alert}]", "every metric the expression names exists"
    metrics = sorted(metric_names(expr))
    if not metrics:
        return inconclusive(name, expected, f"no metric name found in {expr!r}", window)
    try:
        absent = [m for m in metrics if not prom.series_exist(m, window)]
    except PrometheusError as err:
        return inconclusive(name, expected, str(err), window, evidence={"expr": expr, "metrics": metrics})
    observed = f"absent: {', '.join(absent)}" if absent else f"all present: {', '.join(metrics)}"
    return judged(name, not absent, expected, observed, window,
                  reason=f"cannot fire: {', '.join(absent)} not in Prometheus" if absent else "",
                  evidence={"expr": expr, "metrics": metrics, "absent": absent})


def _label_key(frame: pd.DataFrame) -> pd.Series:
    labels = sorted(c for c in frame.columns if c not in ("timestamp", "value", "alertstate", "__name__"))
    return frame[labels].fillna("").astype(str).agg(",".join, axis=1)


def alert_timeline(prom: Prometheus, window: Window, step_s: float = 1.0) -> pd.DataFrame:
    """One row per alert (and label set): when it went pending (its activeAt, exact, from
    ALERTS_FOR_STATE), first and last seen firing (ALERTS, at step_s resolution)."""
    columns = ["alertname", "labels", "pending_at", "firing_at", "last_firing_at"]
    alerts = prom.range("ALERTS", window, step_s)
    if alerts.empty:
        return pd.DataFrame(columns=columns)
    alerts["labels"] = _label_key(alerts)
    for_state = prom.range("ALERTS_FOR_STATE", window, step_s)
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
        rows.append({"alertname": alertname, "labels": key, "pending_at": pending_at,
                     "firing_at": firing.min() if len(firing) else pd.NaT,
                     "last_firing_at": firing.max() if len(firing) else pd.NaT})
    return pd.DataFrame(rows, columns=columns)


def active_alerts(prometheus_url: str, timeout_s: float = 10.0) -> list[dict]:
    """Prometheus's /api/v1/alerts: the alerts pending or firing now, with activeAt."""
    url = f"{prometheus_url.rstrip('/')}/api/v1/alerts"
    try:
        body = requests.get(url, timeout=timeout_s).json()
    except (requests.RequestException, ValueError) as err:
        raise PrometheusError(f"{url}: {type(err).__name__}: {err}") from err
    if body.get("status") != "success":
        raise PrometheusError(f"{url}: {body.get('error')}")
    return body["data"]["alerts"]
