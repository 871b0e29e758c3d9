"""Probes and metrics: `/health`, `/ready`, `/metrics` (open to kubelet and monitoring)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from contract.runtime import HEALTH_PATH, METRICS_PATH, READY_PATH
from workers.agent_executor.metrics import HEALTH
from workers.agent_executor.services import Services, services_of

READY_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["probes"])

Check = Literal["up", "down"]


class Health(BaseModel):
    """The liveness answer."""

    status: Literal["ok"]


class StoreChecks(BaseModel):
    """Each store's check."""

    postgres: Check
    dragonfly: Check
    nats: Check


class Readiness(BaseModel):
    """The readiness answer: ready only when every store answered."""

    status: Literal["ready", "not ready"]
    services: StoreChecks


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


async def store_checks(services: Services) -> dict[str, str]:
    """Each store's check, `up` or `down`, also kept in the `agent_executor_health` gauge."""
    checks = await asyncio.gather(
        _check(_postgres(services.pool)),
        _check(services.redis.ping()),
        _check(_nats(services)),
    )
    HEALTH.set(1 if all(v == "up" for v in checks) else 0)
    return dict(zip(("postgres", "dragonfly", "nats"), checks, strict=True))


@router.get(HEALTH_PATH, response_model=Health)
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    READY_PATH,
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A store did not answer."}},
)
async def ready(request: Request) -> JSONResponse:
    """Readiness: real queries to PostgreSQL, Redis/Dragonfly and NATS."""
    report = await store_checks(services_of(request))
    status = "ready" if all(v == "up" for v in report.values()) else "not ready"
    return JSONResponse(
        {"status": status, "services": report}, status_code=200 if status == "ready" else 503
    )


@router.get(
    METRICS_PATH,
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
