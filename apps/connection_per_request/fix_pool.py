"""Fix: one pool per worker, opened in the lifespan; a request borrows a connection and returns it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from apps.common import ASYNCPG_SETTINGS, database_url, make_app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with asyncpg.create_pool(database_url(), min_size=5, max_size=10, server_settings=ASYNCPG_SETTINGS) as pool:
        app.state.pool = pool
        yield


app = make_app("connection-per-request: fix_pool", lifespan)


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    row = await app.state.pool.fetchrow("SELECT id, name, email FROM users WHERE id = $1", user_id)
    return dict(row)
