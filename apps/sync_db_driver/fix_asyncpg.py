"""Fix: an async driver (asyncpg pool): the loop serves other requests while the query runs."""

from apps.common import asyncpg_pool, make_app
from apps.sync_db_driver.query import QUERY_S, SUMMARY_ASYNCPG

app = make_app("sync-db-driver: fix_asyncpg", asyncpg_pool(min_size=20, max_size=20))


@app.get("/users/{user_id}/summary")
async def summary(user_id: int) -> dict[str, int]:
    orders, total = await app.state.pool.fetchrow(SUMMARY_ASYNCPG, user_id, QUERY_S)  # yields while waiting
    return {"user_id": user_id, "orders": orders, "total_cents": total}
