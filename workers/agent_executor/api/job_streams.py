"""A job's event follow as the HTTP routes start it: known job, deadline, ledger, draining."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from contract.events import replay_key
from workers.agent_executor.draining import Draining
from workers.agent_executor.event_replay import FinishedLookup, FollowLimits, JobEvent, follow
from workers.agent_executor.ledger import Ledger
from workers.agent_executor.services import Services

# A follow outlives the job's own time limit by this much (queueing, the last writes);
# then the subscriber reconnects with its last event id if the job still runs.
FOLLOW_GRACE_SECONDS = 60.0


async def job_known(services: Services, job_id: str) -> bool:
    """True when the ledger has the job or Redis still has events of it."""
    if await services.runner.ledger.get(job_id) is not None:
        return True
    return bool(await services.redis.exists(replay_key(job_id)))


def finished_lookup(ledger: Ledger, job_id: str) -> FinishedLookup:
    """The `end` data the ledger implies for `job_id` once it finished, else None."""

    async def lookup() -> dict[str, Any] | None:
        record = await ledger.get(job_id)
        if record is None or record.status not in ("completed", "failed"):
            return None
        error = (record.result or {}).get("error")
        return {"job_id": job_id, **({"error": error} if isinstance(error, dict) else {})}

    return lookup


def draining(app: FastAPI) -> bool:
    """True once the process began shutting down (see `draining.py`)."""
    flag = getattr(app.state, "draining", None)
    return isinstance(flag, Draining) and flag.is_set()


def follow_job(
    services: Services, app: FastAPI, job_id: str, after: str | None
) -> AsyncIterator[JobEvent | None]:
    """The job's events after entry `after`: replay, then live, within the follow's limits."""
    limits = FollowLimits(
        deadline=time.monotonic() + services.settings.JOB_TIMEOUT_SECONDS + FOLLOW_GRACE_SECONDS,
        stopping=lambda: draining(app),
    )
    return follow(
        services.followers,
        job_id,
        after=after,
        limits=limits,
        finished=finished_lookup(services.runner.ledger, job_id),
    )
