"""A realistic DB-backed endpoint to plan capacity with: an asyncpg pool, two queries, a JSON body.

Not a pitfall: the good way, measured at several server settings (server kind, workers, pool size)
to read each setting's capacity at the SLO. POOL_SIZE is per worker process.
"""

import os

from apps.common import asyncpg_pool, make_app

POOL_SIZE = int(os.environ.get("POOL_SIZE", "10"))
USER = "SELECT id, name, email FROM users WHERE id = $1"
ORDERS = """SELECT o.id, o.total_cents, count(i.id) AS items
            FROM orders o LEFT JOIN items i ON i.order_id = o.id
            WHERE o.user_id = $1 GROUP BY o.id ORDER BY o.id"""

app = make_app("capacity: orders", asyncpg_pool(min_size=POOL_SIZE, max_size=POOL_SIZE))


@app.get("/users/{user_id}/orders")
async def orders(user_id: int) -> dict[str, object]:
    async with app.state.pool.acquire() as conn:
        user = await conn.fetchrow(USER, user_id)
        rows = await conn.fetch(ORDERS, user_id)
    return {"user": dict(user) if user else None, "orders": [dict(r) for r in rows]}
