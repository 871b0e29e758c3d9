"""The checkpointer over the worker's pool, against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib

from testbed.servers import PostgresServer
from workers.agent_executor.db_pool import connection_pool
from workers.agent_executor.services import setup_checkpointer


def test_jobs_checkpoint_concurrently_up_to_the_pool_size(postgres: PostgresServer) -> None:
    # AsyncPostgresSaver serializes every call behind `saver.lock` (langchain-ai/langgraph#7259);
    # over a pool the worker lets as many through as there are connections.
    async def main() -> None:
        async with connection_pool(postgres.url, 4) as pool:
            saver = setup_checkpointer(pool)
            async with contextlib.AsyncExitStack() as held:
                for _ in range(4):
                    await asyncio.wait_for(held.enter_async_context(saver.lock), 1)
                blocked = asyncio.ensure_future(saver.lock.acquire())
                await asyncio.sleep(0.05)
                assert not blocked.done()  # the fifth waits for a connection's worth
            await asyncio.wait_for(blocked, 1)
            saver.lock.release()

    asyncio.run(main())
