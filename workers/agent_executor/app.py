"""The HTTP service: FastAPI app whose lifespan connects the stores and runs the consumer."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI

from workers.agent_executor.api import (
    async_jobs,
    deepagents_compat,
    errors,
    jobs,
    openapi,
    probes,
)
from workers.agent_executor.consumer import JobConsumer
from workers.agent_executor.draining import Draining
from workers.agent_executor.health import HealthMonitor
from workers.agent_executor.heartbeats import Heartbeats
from workers.agent_executor.services import close, connect
from workers.agent_executor.settings import Settings
from workers.agent_executor.tracing import start_tracing, stop_tracing

log = structlog.get_logger()

DESCRIPTION = """\
Runs agent jobs from NATS JetStream; this API submits, follows and cancels them.

Not in the paths below, because OpenAPI has no WebSocket operations:
`GET /deepagents-runtime/stream/{thread_id}` (and `/stream/{thread_id}`) upgrades to a
WebSocket sending the job's events as `{"event_type", "data"}` text frames, replayed then
live, and closes after `end` (1000); close codes 4400 invalid thread id, 4404 unknown
thread, 1013 a store is unavailable, 1001 the stream ended without `end` (reconnect).
"""


def create_app(settings: Settings | None = None, *, consume: bool = True) -> FastAPI:
    """The FastAPI app; `consume=False` serves HTTP without the NATS consumer."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or Settings()
        # Before anything runs a job: spans of the first job are exported too.
        tracer_provider = start_tracing()
        services = await connect(config)
        health = HealthMonitor(services)
        health.start()
        # Everything built so far (modules, compiled graph, clients) lives as long as the
        # process: keep it out of the collector's sight, or every full collection walks it
        # again while all running jobs wait (about 90 ms each, measured under load).
        gc.collect()
        gc.freeze()
        if consume:
            services.consumer = JobConsumer(
                config, services.nc, services.js, services.runner, services.publisher
            )
            await services.consumer.start()
            heartbeats = Heartbeats(config, services.nc, services.js)
            await heartbeats.start()
        app.state.services = services
        log.info(
            "worker started", concurrency=config.WORKER_CONCURRENCY, stream=config.NATS_STREAM_NAME
        )
        try:
            yield
        finally:
            if consume:
                heartbeats.draining()
            if services.consumer is not None:
                await services.consumer.stop()
            await health.stop()
            if consume:
                await heartbeats.stop()
            await close(services)
            stop_tracing(tracer_provider)
            log.info("worker stopped")

    app = FastAPI(title="agent-executor", description=DESCRIPTION, lifespan=lifespan)
    app.state.draining = Draining()
    errors.install(app)
    openapi.install(app)
    app.include_router(probes.router)
    app.include_router(jobs.router)
    app.include_router(async_jobs.router)
    # ide-orchestrator's base URL may or may not end in the prefix: both work.
    app.include_router(deepagents_compat.router, prefix=deepagents_compat.PREFIX)
    app.include_router(deepagents_compat.router)
    return app
