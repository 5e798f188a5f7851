"""HTTP routes of both roles. Every route is instrumented under its template name."""

import asyncio
import logging
import random
import time
from dataclasses import dataclass

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from . import orders
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger("service")

SERVER_KEEP_ALIVE_S = 5  # how long the service keeps an idle client connection (uvicorn's default)


def burn_cpu(ms: float) -> float:
    """Spins for `ms` of this thread's CPU time: the per-request cost the HPA reacts to."""
    start = time.thread_time()
    x = 0
    while (time.thread_time() - start) * 1000 < ms:
        x += 1
    return (time.thread_time() - start) * 1000


@dataclass
class Faults:
    """Injected faults (POST /admin/faults): what a test or experiment breaks on purpose."""
    error_ratio: float = 0.0
    latency_ms: float = 0.0
    until: float = 0.0  # monotonic deadline; 0 = inactive
    routes: frozenset = frozenset()  # empty = every instrumented route

    def active_for(self, route: str) -> bool:
        return time.monotonic() < self.until and (not self.routes or route in self.routes)


class State:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.started = time.monotonic()
        self.draining = False
        self.faults = Faults()
        self.http: httpx.AsyncClient | None = None

    def startup_done(self) -> bool:
        return time.monotonic() - self.started >= self.settings.startup_s

    def ready(self) -> bool:
        return self.startup_done() and not self.draining


async def injected_fault(state: "State", route: str) -> Response | None:
    """The response an active fault replaces this request with, after its injected latency."""
    faults = state.faults
    if not faults.active_for(route):
        return None
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    if random.random() < faults.error_ratio:
        return JSONResponse({"error": "injected fault"}, status_code=500)
    return None


def instrumented(route: str, handler, inject_faults: bool = True):
    """Counts and times the handler under its route template; applies injected faults first."""
    async def endpoint(request: Request) -> Response:
        state: State = request.app.state.gameday
        start = time.perf_counter()
        in_flight = state.metrics.in_flight.labels(route)
        in_flight.inc()
        try:
            response = (inject_faults and await injected_fault(state, route)) or await handler(request)
        except Exception:  # an unexpected error is a 500 the metrics must see, and the log explains
            log.exception("%s %s failed", request.method, route)
            response = JSONResponse({"error": "internal error"}, status_code=500)
        finally:
            in_flight.dec()
        state.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        state.metrics.latency.labels(route, request.method).observe(time.perf_counter() - start)
        return response
    return endpoint


# ---- health, metrics, faults: both roles ----

async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def health_ready(request: Request) -> Response:
    state: State = request.app.state.gameday
    ready = state.ready()
    state.metrics.ready.set(1 if ready else 0)
    reason = "draining" if state.draining else "starting" if not state.startup_done() else "ready"
    return JSONResponse({"status": reason}, status_code=200 if ready else 503)


async def health_startup(request: Request) -> Response:
    state: State = request.app.state.gameday
    done = state.startup_done()
    return JSONResponse({"status": "started" if done else "starting"}, status_code=200 if done else 503)


async def metrics(request: Request) -> Response:
    state: State = request.app.state.gameday
    state.metrics.ready.set(1 if state.ready() else 0)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def set_faults(request: Request) -> Response:
    """POST {"error_ratio": 0.5, "latency_ms": 0, "duration_s": 10, "routes": ["/api/items"]}"""
    state: State = request.app.state.gameday
    try:
        body = await request.json()
        error_ratio = float(body.get("error_ratio", 0))
        latency_ms = float(body.get("latency_ms", 0))
        duration_s = float(body["duration_s"])
        routes = frozenset(body.get("routes") or ())
    except (ValueError, KeyError, TypeError) as err:
        return JSONResponse({"error": f"bad fault spec: {err!r}; needs duration_s"}, status_code=400)
    if not 0 <= error_ratio <= 1 or latency_ms < 0 or duration_s <= 0:
        return JSONResponse({"error": "error_ratio in [0,1], latency_ms >= 0, duration_s > 0"}, status_code=400)
    state.faults = Faults(error_ratio, latency_ms, time.monotonic() + duration_s, routes)
    return JSONResponse({"faults": body})


async def clear_faults(request: Request) -> Response:
    request.app.state.gameday.faults = Faults()
    return JSONResponse({"faults": None})


# ---- core API ----

ITEMS = [{"id": i, "name": f"item-{i}", "price": round(1 + i * 0.37, 2)} for i in range(50)]


async def home(request: Request) -> Response:
    return HTMLResponse("<!doctype html><title>gameday core</title><h1>core API</h1>"
                        "<p><a href='/api/items'>items</a></p>")


async def list_items(request: Request) -> Response:
    return JSONResponse(ITEMS)


async def get_item(request: Request) -> Response:
    item_id = int(request.path_params["item_id"])
    if not 0 <= item_id < len(ITEMS):
        return JSONResponse({"error": "no such item"}, status_code=404)
    return JSONResponse(ITEMS[item_id])


async def work(request: Request) -> Response:
    state: State = request.app.state.gameday
    try:
        ms = float(request.query_params.get("ms", state.settings.work_ms))
    except ValueError:
        return JSONResponse({"error": "ms must be a number"}, status_code=400)
    burned = await run_in_threadpool(burn_cpu, min(ms, 5000))
    return JSONResponse({"cpu_ms": round(burned, 2)})


async def plan(request: Request) -> Response:
    """Asks the agent; when it fails the client sees it (502), fast, and the rest keeps serving."""
    state: State = request.app.state.gameday
    upstream = state.settings.agent_type
    start = time.perf_counter()
    outcome = "error"
    try:
        resp = await state.http.get(f"{state.settings.agent_url}/agent/act")
        outcome = "ok" if resp.status_code < 500 else "error"
        if outcome == "ok":
            return JSONResponse({"plan": resp.json(), "agent": upstream})
        return JSONResponse({"error": f"agent {upstream} answered {resp.status_code}"}, status_code=502)
    except httpx.TimeoutException:
        outcome = "timeout"
        return JSONResponse({"error": f"agent {upstream} timed out"}, status_code=504)
    except httpx.HTTPError as err:
        return JSONResponse({"error": f"agent {upstream} unreachable: {type(err).__name__}"}, status_code=502)
    finally:
        state.metrics.upstream_requests.labels(upstream, outcome).inc()
        state.metrics.upstream_latency.labels(upstream).observe(time.perf_counter() - start)


# ---- agent ----

async def agent_act(request: Request) -> Response:
    state: State = request.app.state.gameday
    agent = state.settings.agent_type
    m = state.metrics
    start = time.perf_counter()
    m.agent_requests.labels(agent).inc()
    try:
        faulted = await injected_fault(state, "/agent/act")
        if faulted is not None:
            m.agent_errors.labels(agent).inc()
            return faulted
        await run_in_threadpool(burn_cpu, state.settings.agent_work_ms)
        return JSONResponse({"agent": agent, "steps": ["assess", "plan", "act"]})
    finally:
        m.agent_latency.labels(agent).observe(time.perf_counter() - start)


class CloseWhileDraining:
    """While draining, every response says `Connection: close`. A keep-alive client then sends
    its next request on a new connection, which kube-proxy gives to a ready pod, instead of
    racing the shutdown on this one (found by the rolling-update game day: one
    RemoteDisconnected in 341 requests)."""

    def __init__(self, app, state: "State"):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.state.draining:
            return await self.app(scope, receive, send)

        async def closing(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)
        await self.app(scope, receive, closing)


def create_app(settings: Settings) -> Starlette:
    common = [
        Route("/health", health),
        Route("/health/ready", health_ready),
        Route("/health/startup", health_startup),
        Route("/metrics", metrics),
        Route("/admin/faults", set_faults, methods=["POST"]),
        Route("/admin/faults", clear_faults, methods=["DELETE"]),
    ]
    # (path, route label in the metrics: the name Locust reports too, handler, method)
    if settings.role == "core":
        served = [("/", "/", home, "GET"), ("/api/items", "/api/items", list_items, "GET"),
                  ("/api/items/{item_id:int}", "/api/items/{id}", get_item, "GET"),
                  ("/api/work", "/api/work", work, "GET"), ("/api/plan", "/api/plan", plan, "GET")]
        if settings.postgres_primary_dsn:
            served += [("/api/orders", "/api/orders", orders.write_order, "POST"),
                       ("/api/orders/{order_id}", "/api/orders/{id}", orders.read_order, "GET"),
                       ("/api/orders/found", "/api/orders/found", orders.orders_found, "POST"),
                       ("/api/orders/cached", "/api/orders/cached", orders.orders_cached, "POST")]
    else:
        served = [("/agent/act", "/agent/act", agent_act, "GET")]
    # an agent applies its faults itself: they must count as agent errors too
    inject = settings.role == "core"
    routes = common + [Route(path, instrumented(label, fn, inject), methods=[method])
                       for path, label, fn, method in served]

    state = State(settings)
    # every route's 200 series exists from the start (at 0), so that rate()/increase() count the
    # first requests after a (re)start too
    # (likewise the agent's series: absent, the seeds' agent alerts could not fire)
    m = state.metrics
    for _, label, _, method in served:
        m.requests.labels(label, method, "200")
        m.latency.labels(label, method)
    if settings.role == "agent":
        m.agent_requests.labels(settings.agent_type)
        m.agent_errors.labels(settings.agent_type)
        m.agent_latency.labels(settings.agent_type)
    else:
        for outcome in ("ok", "error", "timeout"):
            m.upstream_requests.labels(settings.agent_type, outcome)

    async def lifespan(app):
        # an agent (uvicorn) closes a connection idle for SERVER_KEEP_ALIVE_S; a client keeping it as
        # long (httpx's default, 5 s too) races that close and a call sent on the closing connection
        # fails: a 502 nobody caused (seen once in the integration tests). Drop idle ones sooner.
        state.http = httpx.AsyncClient(timeout=settings.agent_timeout_s,
                                       limits=httpx.Limits(keepalive_expiry=SERVER_KEEP_ALIVE_S / 2))
        try:
            yield
        finally:
            await state.http.aclose()
            await app.state.stores.close()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(CloseWhileDraining, state=state)])
    app.state.gameday = state
    app.state.stores = orders.Stores(settings.postgres_primary_dsn, settings.postgres_replica_dsn or
                                     settings.postgres_primary_dsn, settings.redis_url, settings.database_timeout_s)
    return app
