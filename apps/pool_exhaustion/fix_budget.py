"""Fix: size each worker's pool from the database's budget, so all workers together stay under it:
(max_connections - reserved superuser slots - headroom for migrations, consoles, monitors) / workers."""

import os

from apps.common import asyncpg_pool, make_app
from apps.pool_exhaustion.query import QUERY_S, USER, publish_pool_size

MAX_CONNECTIONS = int(os.environ.get("DB_MAX_CONNECTIONS", "100"))  # the server's max_connections
RESERVED = 3  # superuser_reserved_connections: slots ordinary roles can never use
HEADROOM = 3  # left for anything else that must still connect
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "1"))
POOL_MAX = max(1, (MAX_CONNECTIONS - RESERVED - HEADROOM) // WORKERS)  # per worker
app = make_app("pool-exhaustion: fix_budget", asyncpg_pool(min_size=1, max_size=POOL_MAX))
publish_pool_size(app, POOL_MAX)


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    return dict(await app.state.pool.fetchrow(USER, user_id, QUERY_S))  # waits for a free connection
