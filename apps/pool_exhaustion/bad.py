"""Bad: every worker sizes its pool as if it were alone (20), whatever the worker count and the
database's max_connections: 4 workers may open 80 connections to a server that allows 30."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from apps.common import ASYNCPG_SETTINGS, database_url, make_app
from apps.pool_exhaustion.query import QUERY_S, USER

POOL_MAX = 20  # per worker


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with asyncpg.create_pool(
        database_url(), min_size=1, max_size=POOL_MAX, server_settings=ASYNCPG_SETTINGS
    ) as pool:
        app.state.pool = pool
        yield


app = make_app("pool-exhaustion: bad", lifespan)


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    return dict(await app.state.pool.fetchrow(USER, user_id, QUERY_S))
