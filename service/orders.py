"""The core API's stateful routes: orders written to PostgreSQL through postgres-primary, read
through postgres-replica, cached in Redis Cluster. Each answer tells the client what became of
its write, which is what the writers' ledger records (loadtests/locustfile.py, loadtests/ledger.py):

    201  committed: the primary acknowledged it (and which server did, to time a failover)
    503  refused: it certainly did not apply (no connection to a primary, a read-only server)
    504  unknown: the connection broke or timed out after the write was sent; it may have applied

Only these routes need the databases: health and readiness never ask them, so a failover does
not take the core API out of its Service."""

import asyncio
import logging
import time
from dataclasses import dataclass, field

import asyncpg
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("service")
SCHEMA = "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())"
MAX_IDS = 50_000    # one read-back request


@dataclass
class Stores:
    primary_dsn: str
    replica_dsn: str
    redis_url: str
    timeout_s: float
    primary: asyncpg.Pool | None = None
    replica: asyncpg.Pool | None = None
    cache: RedisCluster | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def pool(self, which: str) -> asyncpg.Pool:
        """The pool of postgres-primary or -replica, made on first use (the databases may start
        after the core API); connections that broke are replaced by asyncpg on the next acquire."""
        async with self.lock:
            if getattr(self, which) is None:
                dsn = self.primary_dsn if which == "primary" else self.replica_dsn
                pool = await asyncpg.create_pool(dsn, min_size=0, max_size=4, timeout=self.timeout_s,
                                                 command_timeout=self.timeout_s,
                                                 max_inactive_connection_lifetime=30)
                try:
                    if which == "primary":
                        await pool.execute(SCHEMA)
                except BaseException:   # no database yet: the next request makes a pool anew
                    pool.terminate()
                    raise
                setattr(self, which, pool)
        return getattr(self, which)

    def redis(self) -> RedisCluster:
        if self.cache is None:
            self.cache = RedisCluster.from_url(self.redis_url, socket_timeout=self.timeout_s,
                                               socket_connect_timeout=self.timeout_s)
        return self.cache

    async def drop_cache(self) -> None:
        """Forgets a cluster client that lost every node it knew (their pod IPs all changed, a node
        restarted): the next use starts again from the Service's name."""
        cache, self.cache = self.cache, None
        if cache is not None:
            try:
                await cache.aclose()
            except Exception:   # it is broken already: nothing more to lose
                pass

    async def close(self) -> None:
        for pool in (self.primary, self.replica):
            if pool is not None:
                await pool.close()
        if self.cache is not None:
            await self.cache.aclose()


def _refused(err: Exception, where: str) -> Response:
    return JSONResponse({"error": f"{where}: {type(err).__name__}: {err}", "outcome": "refused"}, status_code=503)


def _unknown(err: Exception, where: str) -> Response:
    return JSONResponse({"error": f"{where}: {type(err).__name__}: {err}", "outcome": "unknown"}, status_code=504)


# what a cache that fails raises: RedisClusterException is not a RedisError (no node reachable)
CACHE_FAILED = (RedisError, RedisClusterException, OSError, asyncio.TimeoutError)
# no connection, so nothing was sent: the write certainly did not apply
NOT_CONNECTED = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
# sent, and the server said no before committing (a demoted primary still behind the Service).
# Anything else after sending is unknown: a commit waiting for its standby when the primary
# dies has been written locally and may come back with it.
REFUSED_BY_SERVER = (asyncpg.ReadOnlySQLTransactionError,)
QUERY_FAILED = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def write_order(request: Request) -> Response:
    """POST {"id": ...}: the order committed on the primary; 409 when the id exists already."""
    stores: Stores = request.app.state.stores
    try:
        order_id = str((await request.json())["id"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'body must be {"id": "..."}'}, status_code=400)
    try:
        pool = await stores.pool("primary")
        connection = await pool.acquire()
    except NOT_CONNECTED as err:
        return _refused(err, "no connection to postgres-primary")
    try:
        server = await connection.fetchval(
            "INSERT INTO orders (id) VALUES ($1) RETURNING host(inet_server_addr())", order_id)
    except asyncpg.UniqueViolationError:
        return JSONResponse({"error": f"order {order_id} exists already", "outcome": "refused"}, status_code=409)
    except REFUSED_BY_SERVER as err:
        return _refused(err, "postgres-primary refused the write")
    except QUERY_FAILED as err:
        return _unknown(err, "postgres-primary did not answer the commit")
    finally:
        await _release(pool, connection)
    cached = await _cache(stores, order_id, server)
    return JSONResponse({"id": order_id, "server": server, "cached": cached}, status_code=201)


async def _release(pool: asyncpg.Pool, connection) -> None:
    try:
        await pool.release(connection, timeout=1)
    except Exception:   # a broken connection: asyncpg drops it
        connection.terminate()


async def _cache(stores: Stores, order_id: str, server: str) -> bool:
    """The order in the Redis cache; a cache that fails costs the cache, not the write."""
    if not stores.redis_url:
        return False
    try:
        return bool(await stores.redis().set(f"order:{order_id}", server, ex=3600))
    except CACHE_FAILED as err:
        if isinstance(err, RedisClusterException):
            await stores.drop_cache()
        return False
    except Exception:   # the order is committed: whatever the cache client does, it costs the cache only
        log.exception("the Redis cache failed unexpectedly; a new client next time")
        await stores.drop_cache()
        return False


async def read_order(request: Request) -> Response:
    """GET /api/orders/{id}?from=replica|primary: 200 with how far the replica's replay lags, or 404."""
    stores: Stores = request.app.state.stores
    which = "replica" if request.query_params.get("from", "replica") == "replica" else "primary"
    try:
        row = await (await stores.pool(which)).fetchrow(
            "SELECT id, coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float AS lag_s "
            "FROM orders WHERE id = $1", request.path_params["order_id"])
    except QUERY_FAILED as err:
        return JSONResponse({"error": f"postgres-{which}: {type(err).__name__}: {err}"}, status_code=503)
    if row is None:
        return JSONResponse({"error": "no such order", "from": which}, status_code=404)
    return JSONResponse({"id": row["id"], "from": which, "lag_s": row["lag_s"]})


async def _ids(request: Request) -> list[str] | Response:
    """The ids of a read-back request, or the 400 that says what is wrong with it."""
    try:
        ids = [str(i) for i in (await request.json())["ids"]]
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'body must be {"ids": [...]}'}, status_code=400)
    if len(ids) > MAX_IDS:
        return JSONResponse({"error": f"at most {MAX_IDS} ids a request"}, status_code=400)
    return ids


async def orders_found(request: Request) -> Response:
    """POST {"ids": [...]} -> {"found": [...], "at": unix seconds}: the read-back, on the primary."""
    stores: Stores = request.app.state.stores
    if isinstance(ids := await _ids(request), Response):
        return ids
    at = time.time()
    try:
        rows = await (await stores.pool("primary")).fetch("SELECT id FROM orders WHERE id = ANY($1::text[])", ids)
    except QUERY_FAILED as err:
        return JSONResponse({"error": f"postgres-primary: {type(err).__name__}: {err}"}, status_code=503)
    return JSONResponse({"found": [r["id"] for r in rows], "at": at, "source": "postgres-primary"})


async def orders_cached(request: Request) -> Response:
    """POST {"ids": [...]} -> {"found": [...], "at": unix seconds}: which orders the Redis cache holds."""
    stores: Stores = request.app.state.stores
    if isinstance(ids := await _ids(request), Response):
        return ids
    if not stores.redis_url:
        return JSONResponse({"error": "no Redis configured (REDIS_URL)"}, status_code=503)
    at = time.time()
    try:
        values = []
        for start in range(0, len(ids), 1000):
            # a cluster pipeline sends each master the keys of its slots
            async with stores.redis().pipeline() as pipe:
                for order_id in ids[start:start + 1000]:
                    pipe.exists(f"order:{order_id}")
                values += await pipe.execute()
    except CACHE_FAILED as err:
        if isinstance(err, RedisClusterException):
            await stores.drop_cache()
        return JSONResponse({"error": f"redis-cluster: {type(err).__name__}: {err}"}, status_code=503)
    return JSONResponse({"found": [i for i, v in zip(ids, values) if v], "at": at, "source": "redis-cluster"})
