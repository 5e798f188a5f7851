"""Configuration from the environment: the service is configured like a pod is."""

import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    role: str = "core"              # core | agent | alertsink
    agent_type: str = "mca"         # the agent this process is (agent role) or calls (core role)
    agent_url: str = "http://127.0.0.1:8081"
    agent_timeout_s: float = 2.0
    work_ms: float = 20.0           # CPU burnt by /api/work per request: what drives the HPA
    agent_work_ms: float = 5.0      # CPU burnt by an agent per request
    startup_s: float = 0.0          # time before /health/startup turns OK (a warming cache)
    drain_s: float = 5.0            # on SIGTERM: not-ready for this long, then stop accepting
    graceful_timeout_s: float = 30.0  # then wait this long at most for in-flight requests
    sink_capacity: int = 10000      # alertsink: deliveries kept
    # the core API's orders (service/orders.py); without a primary DSN the routes are not served
    postgres_primary_dsn: str = ""
    postgres_replica_dsn: str = ""
    redis_url: str = ""
    database_timeout_s: float = 3.0
    host: str = "0.0.0.0"
    port: int = 8080

    @classmethod
    def from_env(cls) -> "Settings":
        s = cls(
            role=_env("ROLE", cls.role),
            agent_type=_env("AGENT_TYPE", cls.agent_type),
            agent_url=_env("AGENT_URL", cls.agent_url),
            agent_timeout_s=float(_env("AGENT_TIMEOUT_S", str(cls.agent_timeout_s))),
            work_ms=float(_env("WORK_MS", str(cls.work_ms))),
            agent_work_ms=float(_env("AGENT_WORK_MS", str(cls.agent_work_ms))),
            startup_s=float(_env("STARTUP_S", str(cls.startup_s))),
            drain_s=float(_env("DRAIN_S", str(cls.drain_s))),
            graceful_timeout_s=float(_env("GRACEFUL_TIMEOUT_S", str(cls.graceful_timeout_s))),
            sink_capacity=int(_env("SINK_CAPACITY", str(cls.sink_capacity))),
            postgres_primary_dsn=_env("POSTGRES_PRIMARY_DSN", cls.postgres_primary_dsn),
            postgres_replica_dsn=_env("POSTGRES_REPLICA_DSN", cls.postgres_replica_dsn),
            redis_url=_env("REDIS_URL", cls.redis_url),
            database_timeout_s=float(_env("DATABASE_TIMEOUT_S", str(cls.database_timeout_s))),
            host=_env("HOST", cls.host),
            port=int(_env("PORT", str(cls.port))),
        )
        if s.role not in ("core", "agent", "alertsink"):
            raise ValueError(f"ROLE must be 'core', 'agent' or 'alertsink', not {s.role!r}")
        return s
