"""What every variant serves: a user row through a pool of POOL connections, each query holding
its connection QUERY_MS. That pool is the service's capacity: POOL / QUERY_S requests per second
(10 / 0.05 s = 200/s), however many arrive."""

import os

from fastapi import FastAPI

from apps.common import asyncpg_pool, make_app

POOL = int(os.environ.get("POOL_SIZE", "10"))
QUERY_S = int(os.environ.get("QUERY_MS", "50")) / 1000
USER = "SELECT id, name, email FROM users, (SELECT pg_sleep($2)) AS slow WHERE id = $1"


def user_service(title: str) -> FastAPI:
    app = make_app(title, asyncpg_pool(min_size=POOL, max_size=POOL))

    @app.get("/users/{user_id}")
    async def user(user_id: int) -> dict[str, object]:
        # Over capacity, this is where requests wait: for a free connection, in arrival order,
        # with no bound on how many wait or for how long.
        return dict(await app.state.pool.fetchrow(USER, user_id, QUERY_S))

    return app
