"""Fix: an async driver (asyncpg pool): the loop serves other requests while the query runs."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from apps.common import ASYNCPG_SETTINGS, database_url, make_app
from apps.sync_db_driver.query import QUERY_S, SUMMARY_ASYNCPG


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with asyncpg.create_pool(database_url(), min_size=20, max_size=20, server_settings=ASYNCPG_SETTINGS) as pool:
        app.state.pool = pool
        yield


app = make_app("sync-db-driver: fix_asyncpg", lifespan)


@app.get("/users/{user_id}/summary")
async def summary(user_id: int) -> dict[str, int]:
    orders, total = await app.state.pool.fetchrow(SUMMARY_ASYNCPG, user_id, QUERY_S)  # yields while waiting
    return {"user_id": user_id, "orders": orders, "total_cents": total}
