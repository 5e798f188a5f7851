"""`python -m service`: serves the app with uvicorn and shuts down the way a pod should.

On SIGTERM the readiness probe turns 503 at once, the server keeps serving for DRAIN_S (so the
endpoints controller and kube-proxy stop sending new requests), then stops accepting and waits up
to GRACEFUL_TIMEOUT_S for in-flight requests. A rolling update so loses no request.
"""

import asyncio
import logging
import signal

import uvicorn

from .alertsink import create_sink_app
from .app import SERVER_KEEP_ALIVE_S, create_app
from .settings import Settings

log = logging.getLogger("service")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, settings: Settings, app) -> None:
        super().__init__(config)
        self.settings = settings
        self.app_state = app.state.gameday
        self._drain_task: asyncio.Task | None = None

    def handle_exit(self, sig: int, frame) -> None:
        if sig != signal.SIGTERM or self.app_state.draining:
            return super().handle_exit(sig, frame)  # Ctrl-C, or a second signal: stop now
        self.app_state.draining = True
        log.info("SIGTERM: not ready; draining for %.1f s before shutdown", self.settings.drain_s)
        self._drain_task = asyncio.get_event_loop().create_task(self._drain_then_exit(sig, frame))

    async def _drain_then_exit(self, sig: int, frame) -> None:
        await asyncio.sleep(self.settings.drain_s)
        super().handle_exit(sig, frame)


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sink = settings.role == "alertsink"
    app = create_sink_app(settings) if sink else create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_s), lifespan="on",
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
    )
    log.info("%s (%s) listening on %s:%d", settings.role, settings.agent_type, settings.host, settings.port)
    # the sink is no service under test: nothing to drain
    (uvicorn.Server(config) if sink else DrainingServer(config, settings, app)).run()


if __name__ == "__main__":
    main()
