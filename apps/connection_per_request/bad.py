"""Bad: a new database connection for every request (connect, query, close)."""

import asyncpg

from apps.common import ASYNCPG_SETTINGS, database_url, make_app

app = make_app("connection-per-request: bad")


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    conn = await asyncpg.connect(database_url(), server_settings=ASYNCPG_SETTINGS)  # TCP + auth + a new backend
    try:
        row = await conn.fetchrow("SELECT id, name, email FROM users WHERE id = $1", user_id)
    finally:
        await conn.close()
    return dict(row)
