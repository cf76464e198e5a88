"""Fix: one pool per worker, opened in the lifespan; a request borrows a connection and returns it."""

from apps.common import asyncpg_pool, make_app

app = make_app("connection-per-request: fix_pool", asyncpg_pool(min_size=5, max_size=10))


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    row = await app.state.pool.fetchrow("SELECT id, name, email FROM users WHERE id = $1", user_id)
    return dict(row)
