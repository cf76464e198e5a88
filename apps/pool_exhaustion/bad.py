"""Bad: every worker sizes its pool as if it were alone (20), whatever the worker count and the
database's max_connections: 4 workers may open 80 connections to a server that allows 30."""

from apps.common import asyncpg_pool, make_app
from apps.pool_exhaustion.query import QUERY_S, USER, publish_pool_size

POOL_MAX = 20  # per worker
app = make_app("pool-exhaustion: bad", asyncpg_pool(min_size=1, max_size=POOL_MAX))
publish_pool_size(app, POOL_MAX)


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    return dict(await app.state.pool.fetchrow(USER, user_id, QUERY_S))
