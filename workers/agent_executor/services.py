"""What the worker process connects to, built once in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import cast

import nats
import structlog
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, RetentionPolicy, StreamConfig
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from contract.nats import (
    HEARTBEAT_MAX_AGE_SECONDS,
    HEARTBEAT_MAX_MSGS_PER_SUBJECT,
    HEARTBEAT_STREAM,
    PLATFORM_STREAMS,
)
from workers.agent_executor.consumer import JobConsumer
from workers.agent_executor.control import ControlCommands
from workers.agent_executor.db_pool import connection_pool
from workers.agent_executor.governance import GOVERNANCE
from workers.agent_executor.job_locks import JobLocks
from workers.agent_executor.metered_llm import MeteredLLMClient
from workers.agent_executor.metrics import NATS_ERROR_KINDS, NATS_ERRORS
from workers.agent_executor.results import ResultPublisher
from workers.agent_executor.runner import Runner
from workers.agent_executor.schema import wait_until_current
from workers.agent_executor.settings import Settings
from workers.agent_executor.stores import redis_client
from workers.agent_executor.streaming import EventPublisher
from workers.agent_executor.submission import queue_subject

log = structlog.get_logger()

# Event followers a worker serves at once, each holding one Redis connection while it waits
# (redis-py's default pool of 100 refused the 101st, "Too many connections"). Dragonfly
# admits 64,000 clients and Redis 10,000 by default; a follower beyond this many ends with
# a named store failure.
FOLLOWER_CONNECTIONS = 1024


def nats_error_kind(error: Exception) -> str:
    """A bounded label for an error the NATS connection reports."""
    text = str(error).lower()
    permissions, authorization, other = NATS_ERROR_KINDS
    if "permissions violation" in text:
        return permissions
    if "authorization violation" in text or "authentication" in text:
        return authorization
    return other


async def _on_nats_error(error: Exception) -> None:
    # A denied subscribe or publish is only ever reported here, asynchronously: without this
    # it would be a line from the client library, never a metric an alert can see.
    kind = nats_error_kind(error)
    NATS_ERRORS.labels(kind).inc()
    log.error("nats error", kind=kind, error=str(error))


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
    # The event followers' own client (SSE, the deepagents WebSocket): each follower holds
    # one of its connections while it waits, and none of them can starve the probes' and the
    # API's other Redis calls of `redis`.
    followers: Redis
    # The subject POST /jobs publishes to, read from the bound consumer on first use.
    job_subject: str | None = None

    async def submission_subject(self) -> str:
        """Where this executor's submitted jobs go (its consumer's filter or stream)."""
        if self.job_subject is None:
            self.job_subject = await queue_subject(
                self.js, self.settings.NATS_STREAM_NAME, self.settings.NATS_CONSUMER_GROUP
            )
        return self.job_subject

    consumer: JobConsumer | None = None
    control: ControlCommands | None = None


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
        config = StreamConfig(
            name=stream, subjects=list(subjects), retention=retention, duplicate_window=120
        )
        if name == HEARTBEAT_STREAM:
            # Each pod's newest heartbeat only, as the tenant's generated stream keeps them.
            config.max_msgs_per_subject = HEARTBEAT_MAX_MSGS_PER_SUBJECT
            config.max_age = HEARTBEAT_MAX_AGE_SECONDS
        await js.add_stream(config)
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
        error_cb=_on_nats_error,
    )
    js = nc.jetstream()
    if settings.NATS_CREATE_STREAMS:
        await ensure_streams(js, settings)
    llm = MeteredLLMClient(settings)
    # The event writer's own client: it bounds each write itself (see streaming.py).
    events = EventPublisher(
        redis_client(settings, socket_timeout=None, socket_connect_timeout=5),
        maxlen=settings.STREAM_REPLAY_MAXLEN,
        ttl_seconds=settings.STREAM_REPLAY_TTL_SECONDS,
    )
    events.start()
    runner = Runner(settings, pool, saver, events, llm, JobLocks(settings.postgres_dsn))
    publisher = ResultPublisher(js, lambda: nc.max_payload)
    followers = redis_client(
        settings, socket_timeout=5, socket_connect_timeout=5, max_connections=FOLLOWER_CONNECTIONS
    )
    services = Services(settings, pool, redis, nc, js, runner, publisher, followers)
    # Governance and control (set_budget, flush_cache): agent.governance.*, agent.control.*.
    # Events name the pod (POD_NAME, from the downward API); the host name outside Kubernetes.
    GOVERNANCE.attach(nc, worker=settings.POD_NAME)
    services.control = ControlCommands(
        nc,
        pool,
        runner.per_run_budget,
        llm,
        queue=settings.NATS_CONSUMER_GROUP,
        refresh_seconds=settings.BUDGET_REFRESH_SECONDS,
        worker=settings.POD_NAME,
    )
    await services.control.start()
    return services


async def close(services: Services) -> None:
    """Drain NATS and close the stores, in that order."""
    if services.control is not None:
        await services.control.stop()
    await GOVERNANCE.flush()
    with contextlib.suppress(Exception):
        await services.nc.drain()
    await services.runner.events.close()
    with contextlib.suppress(Exception):
        await services.runner.events.redis.aclose()
    with contextlib.suppress(Exception):
        await services.redis.aclose()
    with contextlib.suppress(Exception):
        await services.followers.aclose()
    await services.runner.locks.close()
    await services.pool.close()


def services_of(connection: HTTPConnection) -> Services:
    """The process's Services, for a route handler (HTTP or WebSocket)."""
    return cast(Services, connection.app.state.services)
