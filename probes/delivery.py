"""Alert delivery: what Alertmanager actually sent to the webhook receiver (the alert sink, see
service/alertsink.py), so that a check says "delivered", not only "firing in Prometheus".

`sink_deliveries` fetches at the edge; `alert_delivered` judges the frame.
"""

from datetime import datetime, timedelta, timezone

import pandas as pd
import requests

from core.verdict import Verdict, Window, inconclusive, judged
from edge.poll import poll

COLUMNS = ["received_at", "alertname", "status", "labels", "starts_at", "fingerprint"]


class AlertSinkError(Exception):
    """The alert sink could not answer: unreachable, timed out, or not a sink."""


def sink_deliveries(sink_url: str, since: datetime, timeout_s: float = 10.0) -> pd.DataFrame:
    """One row per alert the sink received at or after `since`, oldest first."""
    url = f"{sink_url.rstrip('/')}/alerts"
    try:
        resp = requests.get(url, params={"since": since.timestamp()}, timeout=timeout_s)
        resp.raise_for_status()
        rows = resp.json()["deliveries"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as err:
        raise AlertSinkError(f"{url}: {type(err).__name__}: {err}") from err
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows)
    frame["received_at"] = pd.to_datetime(frame["received_ts"], unit="s", utc=True)
    frame["starts_at"] = pd.to_datetime(frame["starts_at"], utc=True, format="ISO8601")
    return frame[COLUMNS]


def _expected(alertname: str, status: str) -> str:
    return f"a {status} notification of {alertname} delivered"


def alert_delivered(deliveries: pd.DataFrame, alertname: str, window: Window,
                    status: str = "firing", labels: dict | None = None) -> Verdict:
    """pass: a `status` notification of `alertname` (carrying `labels`, when given) reached the
    sink within the window; the first one's time is reported. fail: none did (the other
    deliveries of the window are the evidence)."""
    check, subject, expected = "alert_delivered", f"{alertname},{status}", _expected(alertname, status)
    in_window = deliveries[(deliveries.received_at >= window.start) & (deliveries.received_at <= window.end)]
    carries = in_window.labels.map(lambda got: (labels or {}).items() <= (got or {}).items())
    hits = in_window[(in_window.alertname == alertname) & (in_window.status == status) & carries]
    evidence = [{"received_at": r.received_at.isoformat(), "alertname": r.alertname, "status": r.status,
                 "labels": r.labels} for r in in_window.itertuples()]
    if hits.empty:
        others = sorted(set(in_window.alertname))
        observed = (f"none; the sink received {len(in_window)} other deliveries ({', '.join(others)})"
                    if others else "none; the sink received nothing in the window")
        return judged(check, False, expected, observed, window, evidence,
                      reason=f"no {status} notification of {alertname} reached the receiver", subject=subject)
    first = hits.received_at.min()
    after_s = (first - window.start).total_seconds()
    return judged(check, True, expected, f"first at {first.isoformat()} ({after_s:.1f} s into the window)",
                  window, evidence, delivered_at=first.isoformat(), delivered_after_s=after_s, subject=subject)


def delivery_verdict(sink_url: str, alertname: str, window: Window, status: str = "firing",
                     labels: dict | None = None) -> Verdict:
    """alert_delivered over what the sink holds for the window; inconclusive if it cannot answer."""
    try:
        deliveries = sink_deliveries(sink_url, window.start)
    except AlertSinkError as err:
        return inconclusive("alert_delivered", _expected(alertname, status), str(err), window,
                            subject=f"{alertname},{status}")
    return alert_delivered(deliveries, alertname, window, status, labels)


def await_delivery(sink_url: str, alertname: str, since: datetime, timeout_s: float,
                   status: str = "firing", labels: dict | None = None, poll_s: float = 1.0) -> Verdict:
    """Polls the sink until a `status` notification of `alertname` arrives after `since`, or
    timeout_s passes; the verdict covers since..then."""
    def check():
        window = Window(since, max(datetime.now(timezone.utc), since + timedelta(milliseconds=1)))
        verdict = delivery_verdict(sink_url, alertname, window, status, labels)
        return verdict.passed, verdict
    _, verdict, _ = poll(check, timeout_s, f"a {status} notification of {alertname}", poll_s)
    return verdict


# ---- Chaos Toolkit probe: plain arguments, plain data back ----

def alert_was_delivered(alert_sink_url: str, alertname: str, within_s: float = 300,
                        status: str = "firing") -> dict:
    """Chaos Toolkit probe: did a `status` notification of `alertname` reach the sink in the last
    within_s seconds?"""
    now = datetime.now(timezone.utc).timestamp()
    return delivery_verdict(alert_sink_url, alertname, Window.from_epoch(now - within_s, now), status).to_dict()


def wait_for_delivery(alert_sink_url: str, alertname: str, status: str = "firing", timeout_s: float = 120,
                      lookback_s: float = 60, labels: dict | None = None) -> dict:
    """Chaos Toolkit probe: waits until a `status` notification of `alertname` (carrying `labels`)
    reaches the sink (one received up to lookback_s before the call counts), or timeout_s passes."""
    since = datetime.now(timezone.utc) - timedelta(seconds=lookback_s)
    return await_delivery(alert_sink_url, alertname, since, timeout_s, status, labels).to_dict()
