"""The control commands `set_budget` and `flush_cache` on `agent.control.<command>`.

How each reaches the workers (core NATS, inside the tenant's account):

- `set_budget` is taken by one worker of the executor: a queue group named after the
  executor's durable consumer (NATS_CONSUMER_GROUP). That worker stores the override in
  PostgreSQL and applies it; every other worker (and every restart) reads it at start and
  every BUDGET_REFRESH_SECONDS. One writer per command keeps two commands sent one after
  the other from being stored in another order by workers that heard them differently.
- `flush_cache` goes to every worker (plain subscription, NATS fans it out): caches are
  per process. A request gets the first worker's reply.

A command sent as a request is answered with a `ControlReply`; an invalid body gets
`ok: false` and its error, and is logged; nothing a producer sends can stop the listener.
`cancel` and `heartbeat` are handled elsewhere (consumer.py and the heartbeat module);
`agent.control.escalate` is the worker's own announcement, not a command. A request to a
subject nobody listens to (a misspelt command) gets NATS's "no responders" at once.

Each command has a subscription of its own, never a wildcard over `agent.control.*`: when
two subscriptions of one connection receive the same request, the server refuses the
reply under `allow_responses` (the production grants), and the requester times out.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from psycopg_pool import AsyncConnectionPool

from contract import control
from contract.nats import CONTROL_PREFIX
from workers.agent_executor.agent.llm import LLMClient
from workers.agent_executor.agent.search import forget_compiled_patterns
from workers.agent_executor.budget_override import (
    Override,
    PerRunBudget,
    read_override,
    store_override,
)

log = structlog.get_logger()


class ControlCommands:
    """Listens to set_budget and flush_cache, keeps the budget in force current."""

    def __init__(
        self,
        nc: NatsClient,
        pool: AsyncConnectionPool,
        budget: PerRunBudget,
        llm: LLMClient,
        *,
        queue: str,
        refresh_seconds: float,
        worker: str | None = None,
    ) -> None:
        self.nc = nc
        self.pool = pool
        self.budget = budget
        self.llm = llm
        self.queue = queue
        self.refresh_seconds = refresh_seconds
        self.worker = worker or socket.gethostname()
        self.subscriptions: list[Any] = []
        self.refresher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the stored budget, subscribe, and start refreshing the budget."""
        self.budget.apply(await read_override(self.pool))
        self.subscriptions = [
            await self.nc.subscribe(
                control.SET_BUDGET_SUBJECT, queue=self.queue, cb=self._on_set_budget
            ),
            await self.nc.subscribe(control.FLUSH_CACHE_SUBJECT, cb=self._on_flush_cache),
        ]
        self.refresher = asyncio.create_task(self._refresh_forever(), name="budget-refresh")
        log.info("per-run token budget", tokens=self.budget.tokens, override=self.budget.override)

    async def stop(self) -> None:
        """Stop listening and refreshing."""
        if self.refresher is not None:
            self.refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.refresher
        for subscription in self.subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def refresh(self) -> None:
        """Take the stored override (another worker may have set it)."""
        stored = await read_override(self.pool)
        if stored != self.budget.override:
            log.info("per-run token budget changed", tokens=stored or self.budget.default)
        self.budget.apply(stored)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except Exception as exc:
                # The database is down: keep the value in force, try again next time.
                log.warning("could not read the per-run token budget", error=str(exc))

    async def _on_set_budget(self, msg: Msg) -> None:
        try:
            command = control.parse_command(control.SET_BUDGET, msg.data)
            assert isinstance(command, control.SetBudget)
            previous = await store_override(
                self.pool,
                Override(command.token_budget_per_run, command.reason, self.worker),
            )
            self.budget.apply(command.token_budget_per_run)
            result = {
                "token_budget_per_run": self.budget.tokens,
                "override": command.token_budget_per_run,
                "previous_override": previous,
                "default": self.budget.default,
                "other_workers_within_seconds": self.refresh_seconds,
            }
            log.info(
                "set_budget",
                override=command.token_budget_per_run,
                previous_override=previous,
                reason=command.reason,
            )
            await self._reply(msg, control.SET_BUDGET, result=result)
        except control.InvalidCommandError as exc:
            await self._refuse(msg, control.SET_BUDGET, str(exc), control.INVALID_COMMAND)
        except Exception as exc:
            log.exception("set_budget failed")
            await self._refuse(
                msg, control.SET_BUDGET, f"set_budget failed: {exc}", control.COMMAND_FAILED
            )

    async def _on_flush_cache(self, msg: Msg) -> None:
        try:
            control.parse_command(control.FLUSH_CACHE, msg.data)
            dropped = {
                "model_clients": await self.llm.flush(),
                "glob_patterns": forget_compiled_patterns(),
            }
            log.info("flush_cache", **dropped)
            await self._reply(msg, control.FLUSH_CACHE, result={"dropped": dropped})
        except control.InvalidCommandError as exc:
            await self._refuse(msg, control.FLUSH_CACHE, str(exc), control.INVALID_COMMAND)
        except Exception as exc:
            log.exception("flush_cache failed")
            await self._refuse(
                msg, control.FLUSH_CACHE, f"flush_cache failed: {exc}", control.COMMAND_FAILED
            )

    async def _refuse(self, msg: Msg, command: str, message: str, kind: str) -> None:
        # The producer's body is not logged: only what was wrong with it.
        log.warning("control command refused", subject=msg.subject, error=message, type=kind)
        error = control.ControlError(message=message, type=kind)
        await self._reply(msg, command, error=error)

    async def _reply(
        self,
        msg: Msg,
        command: str,
        *,
        result: dict[str, Any] | None = None,
        error: control.ControlError | None = None,
    ) -> None:
        if not msg.reply:
            return
        reply = control.ControlReply(
            ok=error is None,
            command=command.removeprefix(CONTROL_PREFIX),
            worker=self.worker,
            result=result or {},
            error=error,
        )
        try:
            await msg.respond(reply.model_dump_json().encode())
        except Exception as exc:
            log.warning("control reply not sent", subject=msg.subject, error=str(exc))
