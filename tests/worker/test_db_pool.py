"""The worker's pool pings only connections that sat idle, against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from typing import cast

import psycopg

from testbed.servers import PostgresServer
from workers.agent_executor.db_pool import connection_pool

IDLE = 0.3


def _last_query(url: str, pid: int) -> str:
    with psycopg.connect(url) as admin:
        row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None, f"backend {pid} is gone"
    return str(row[0])


def test_a_connection_back_from_recent_use_is_handed_out_without_a_ping(
    postgres: PostgresServer,
) -> None:
    async def main() -> tuple[str, str]:
        async with connection_pool(postgres.url, 1, idle_check_seconds=IDLE) as pool:
            async with pool.connection() as conn:
                await conn.execute("SELECT 'first use'")
                pid = conn.info.backend_pid
            async with pool.connection() as conn:
                soon = _last_query(postgres.url, conn.info.backend_pid)
            await asyncio.sleep(IDLE * 2)
            async with pool.connection() as conn:
                assert conn.info.backend_pid == pid
                later = _last_query(postgres.url, pid)
            return soon, later

    soon, later = asyncio.run(main())
    assert soon == "SELECT 'first use'"
    assert later == ""  # psycopg_pool's check is an empty query


def test_an_idle_connection_cut_by_the_server_is_replaced_before_use(
    postgres: PostgresServer,
) -> None:
    async def main() -> None:
        async with connection_pool(postgres.url, 1, idle_check_seconds=IDLE) as pool:
            async with pool.connection() as conn:
                pid = conn.info.backend_pid
            with psycopg.connect(postgres.url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await asyncio.sleep(IDLE * 2)
            async with pool.connection() as conn:
                row = await (await conn.execute("SELECT 1 AS one")).fetchone()
                assert cast(dict[str, int], row) == {"one": 1}  # the pool's dict rows
                assert conn.info.backend_pid != pid

    asyncio.run(main())
