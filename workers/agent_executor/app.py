"""The HTTP service: FastAPI app whose lifespan runs the JetStream consumer."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import nats
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, RetentionPolicy, StreamConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from contract.jobs import JOB_ID_RULE, is_valid_job_id
from contract.nats import CANCEL_PREFIX, PLATFORM_STREAMS, subject_token
from workers.agent_executor.acks import Handled, http_status
from workers.agent_executor.consumer import JobConsumer
from workers.agent_executor.db_pool import connection_pool
from workers.agent_executor.envelope import InvalidEventError
from workers.agent_executor.handling import conflict, handle
from workers.agent_executor.job_locks import JobLocks
from workers.agent_executor.metered_llm import MeteredLLMClient
from workers.agent_executor.results import ResultPublisher
from workers.agent_executor.runner import JobIdConflictError, Runner
from workers.agent_executor.schema import wait_until_current
from workers.agent_executor.settings import Settings
from workers.agent_executor.stores import redis_client
from workers.agent_executor.streaming import EventPublisher

log = structlog.get_logger()
READY_TIMEOUT_SECONDS = 2.0


@dataclass
class Services:
    """Everything the process connects to, built in the lifespan."""

    settings: Settings
    pool: AsyncConnectionPool
    redis: Redis
    nc: NatsClient
    js: JetStreamContext
    runner: Runner
    publisher: ResultPublisher
    consumer: JobConsumer | None = None


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Development only: create the platform streams and the durable consumer if missing."""
    for name, subjects in PLATFORM_STREAMS.items():
        stream = settings.NATS_STREAM_NAME if name == "AGENT_EXECUTION" else name
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.stream_info(stream)
            continue
        retention = (
            RetentionPolicy.WORK_QUEUE if name == "AGENT_EXECUTION" else RetentionPolicy.LIMITS
        )
        await js.add_stream(
            StreamConfig(
                name=stream, subjects=list(subjects), retention=retention, duplicate_window=120
            )
        )
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.consumer_info(settings.NATS_STREAM_NAME, settings.NATS_CONSUMER_GROUP)
        return
    await js.add_consumer(
        settings.NATS_STREAM_NAME,
        ConsumerConfig(
            durable_name=settings.NATS_CONSUMER_GROUP,
            ack_wait=settings.NATS_ACK_WAIT_SECONDS,
            max_deliver=settings.NATS_MAX_DELIVER,
            max_ack_pending=1000,
        ),
    )


def setup_checkpointer(pool: AsyncConnectionPool) -> AsyncPostgresSaver:
    """The saver over the shared pool; its tables come from run-migrations.sh, not setup()."""
    saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
    # The saver puts every read and write of every job behind one asyncio.Lock, needed for
    # a single shared connection but not for a pool, where each call takes a connection of
    # its own (langchain-ai/langgraph#7259). Serialized, 32 running jobs queued for it and
    # took a fifth longer than alone; bounded by the pool size instead, they do not.
    saver.lock = cast(asyncio.Lock, asyncio.Semaphore(pool.max_size))
    return saver


async def connect(settings: Settings) -> Services:
    """Open the pool, Redis and NATS, and build the runner."""
    # Jobs hold a pooled connection only for one query or checkpoint write at a time (their
    # locks live on JobLocks' own connection), so a pool smaller than the concurrency only
    # queues them briefly and can never leave them waiting on each other.
    pool = connection_pool(settings.postgres_dsn, settings.POSTGRES_POOL_MAX)
    await pool.open(wait=True, timeout=30)
    # Read only: the schema is the init container's job (issue #10: workers that ran the
    # checkpointer's DDL themselves could wait on each other forever).
    await wait_until_current(pool, settings.SCHEMA_WAIT_SECONDS)
    saver = setup_checkpointer(pool)
    redis = redis_client(settings, socket_timeout=5, socket_connect_timeout=5)
    password = settings.NATS_PASSWORD.get_secret_value() if settings.NATS_PASSWORD else None
    nc = await nats.connect(
        servers=settings.NATS_URL.split(","),
        user=settings.NATS_USER,
        password=password,
        name=settings.OTEL_SERVICE_NAME,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
    )
    js = nc.jetstream()
    if settings.NATS_CREATE_STREAMS:
        await ensure_streams(js, settings)
    llm = MeteredLLMClient(settings)
    events = EventPublisher(
        redis,
        maxlen=settings.STREAM_REPLAY_MAXLEN,
        ttl_seconds=settings.STREAM_REPLAY_TTL_SECONDS,
    )
    events.start()
    runner = Runner(settings, pool, saver, events, llm, JobLocks(settings.postgres_dsn))
    publisher = ResultPublisher(js, lambda: nc.max_payload)
    return Services(settings, pool, redis, nc, js, runner, publisher)


async def close(services: Services) -> None:
    """Drain NATS and close the stores, in that order."""
    with contextlib.suppress(Exception):
        await services.nc.drain()
    await services.runner.events.close()
    with contextlib.suppress(Exception):
        await services.redis.aclose()
    await services.runner.locks.close()
    await services.pool.close()


def _bad_job_id(job_id: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": f"job_id {job_id[:64]!r}: must be {JOB_ID_RULE}",
                "type": InvalidEventError.type,
            }
        },
        status_code=400,
    )


async def _check(coro: Any) -> str:
    try:
        await asyncio.wait_for(coro, READY_TIMEOUT_SECONDS)
    except Exception:
        return "down"
    return "up"


async def _postgres(pool: AsyncConnectionPool) -> None:
    async with pool.connection(timeout=READY_TIMEOUT_SECONDS) as conn:
        await conn.execute("SELECT 1")


async def _nats(services: Services) -> None:
    if not services.nc.is_connected:
        raise ConnectionError("NATS disconnected")
    await services.js.account_info()


def create_app(settings: Settings | None = None, *, consume: bool = True) -> FastAPI:
    """The FastAPI app; `consume=False` serves HTTP without the NATS consumer."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or Settings()
        services = await connect(config)
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
        app.state.services = services
        log.info(
            "worker started", concurrency=config.WORKER_CONCURRENCY, stream=config.NATS_STREAM_NAME
        )
        try:
            yield
        finally:
            if services.consumer is not None:
                await services.consumer.stop()
            await close(services)
            log.info("worker stopped")

    app = FastAPI(title="agent-executor", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        services: Services = request.app.state.services
        checks = await asyncio.gather(
            _check(_postgres(services.pool)),
            _check(services.redis.ping()),
            _check(_nats(services)),
        )
        report = dict(zip(("postgres", "dragonfly", "nats"), checks, strict=True))
        status = "ready" if all(v == "up" for v in checks) else "not ready"
        return JSONResponse(
            {"status": status, "services": report}, status_code=200 if status == "ready" else 503
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/jobs/{job_id}")
    async def job(job_id: str, request: Request) -> JSONResponse:
        """The ledger row of `job_id`: status, attempts and the recorded result."""
        if not is_valid_job_id(job_id):
            return _bad_job_id(job_id)
        services: Services = request.app.state.services
        record = await services.runner.ledger.get(job_id)
        if record is None:
            return JSONResponse({"error": f"no job {job_id!r}"}, status_code=404)
        return JSONResponse(record.as_json())

    @app.delete("/jobs/{job_id}")
    async def cancel(job_id: str, request: Request) -> JSONResponse:
        """Ask whichever worker runs `job_id` to stop it; a queued job is cancelled on pickup."""
        if not is_valid_job_id(job_id):
            return _bad_job_id(job_id)
        services: Services = request.app.state.services
        record = await services.runner.ledger.get(job_id)
        if record is not None and record.status != "running":
            return JSONResponse(
                {"job_id": job_id, "cancel": "too late", "status": record.status}, status_code=409
            )
        await services.runner.ledger.request_cancel(job_id)
        await services.nc.publish(
            CANCEL_PREFIX + subject_token(job_id), json.dumps({"job_id": job_id}).encode()
        )
        await services.nc.flush()
        return JSONResponse({"job_id": job_id, "cancel": "requested"}, status_code=202)

    @app.post("/")
    async def execute(request: Request) -> JSONResponse:
        """Run a CloudEvent (structured or binary) the same way as one from NATS."""
        services: Services = request.app.state.services
        handling = await handle(services.runner, await request.body(), dict(request.headers))
        status = http_status(handling.handled)
        error = {"error": {"message": handling.error, "type": handling.error_type}}
        if handling.handled is Handled.INVALID and handling.job_id is not None:
            try:
                failed = await services.runner.fail(
                    handling.job_id, handling.error, handling.error_type, handling.digest
                )
            except JobIdConflictError as exc:
                handling = conflict(handling.job_id, str(exc))
                return JSONResponse(
                    {"error": {"message": handling.error, "type": handling.error_type}},
                    status_code=http_status(handling.handled),
                )
            event = await services.publisher.publish(
                failed.job_id, failed.outcome, failed.data, None
            )
            return JSONResponse(event, status_code=status)
        if handling.handled is Handled.FINISHED and handling.result is not None:
            result = handling.result
            event = await services.publisher.publish(
                result.job_id, result.outcome, result.data, handling.traceparent
            )
            return JSONResponse(event, status_code=status)
        if handling.handled in (Handled.TRANSIENT, Handled.BUSY):
            headers = {"Retry-After": str(int(handling.retry_after or 5))}
            return JSONResponse(error, status_code=status, headers=headers)
        return JSONResponse(error, status_code=status)

    return app
