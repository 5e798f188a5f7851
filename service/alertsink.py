"""ROLE=alertsink: the webhook receiver Alertmanager delivers every notification to, kept so that
a game day can read back what was *delivered* (GET /alerts), not only what Prometheus had firing.

Each alert of a notification is kept as one delivery with the time it arrived, newest last, up
to SINK_CAPACITY deliveries (the oldest are dropped first, and counted).
"""

import time
from collections import deque
from datetime import datetime, timezone

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .settings import Settings


class Sink:
    def __init__(self, capacity: int) -> None:
        self.deliveries: deque[dict] = deque(maxlen=capacity)
        self.dropped = 0
        self.registry = CollectorRegistry()
        self.received = Counter("alertsink_alerts_received", "Alerts delivered by Alertmanager",
                                ["alertname", "status"], registry=self.registry)

    def keep(self, notification: dict) -> int:
        now = time.time()
        received_at = datetime.fromtimestamp(now, timezone.utc).isoformat()
        alerts = notification.get("alerts") or []
        for alert in alerts:
            labels = alert.get("labels") or {}
            if len(self.deliveries) == self.deliveries.maxlen:
                self.dropped += 1
            self.deliveries.append({
                "received_at": received_at, "received_ts": now,
                "receiver": notification.get("receiver", ""),
                "alertname": labels.get("alertname", ""), "status": alert.get("status", ""),
                "labels": labels, "annotations": alert.get("annotations") or {},
                "starts_at": alert.get("startsAt"), "ends_at": alert.get("endsAt"),
                "fingerprint": alert.get("fingerprint", ""),
            })
            self.received.labels(labels.get("alertname", ""), alert.get("status", "")).inc()
        return len(alerts)


async def receive(request: Request) -> Response:
    """POST /alerts: Alertmanager's webhook payload (version 4)."""
    try:
        notification = await request.json()
        if not isinstance(notification, dict) or not isinstance(notification.get("alerts", []), list):
            raise ValueError("not an Alertmanager webhook notification")
    except ValueError as err:
        return JSONResponse({"error": f"bad notification: {err}"}, status_code=400)
    kept = request.app.state.sink.keep(notification)
    return JSONResponse({"kept": kept})


async def deliveries(request: Request) -> Response:
    """GET /alerts[?since=UNIX_TS][&alertname=NAME]: deliveries, oldest first."""
    sink: Sink = request.app.state.sink
    try:
        since = float(request.query_params.get("since", 0))
    except ValueError:
        return JSONResponse({"error": "since must be a unix timestamp"}, status_code=400)
    name = request.query_params.get("alertname")
    kept = [d for d in sink.deliveries
            if d["received_ts"] >= since and (name is None or d["alertname"] == name)]
    return JSONResponse({"deliveries": kept, "dropped": sink.dropped})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.sink.registry), media_type=CONTENT_TYPE_LATEST)


def create_sink_app(settings: Settings) -> Starlette:
    app = Starlette(routes=[
        Route("/alerts", receive, methods=["POST"]),
        Route("/alerts", deliveries, methods=["GET"]),
        Route("/health", health),
        Route("/metrics", metrics),
    ])
    app.state.sink = Sink(settings.sink_capacity)
    return app
