"""Bad: a module-level object holds the current user across an `await`: one per process, not per
request, so a concurrent request overwrites it and the answer carries another user's id."""

from fastapi import FastAPI

from apps.common import asyncpg_pool, make_app
from apps.shared_state.accounts import USER

app: FastAPI = make_app("shared-state: bad", asyncpg_pool(min_size=1, max_size=10))
current: dict[str, int] = {}  # "the request's user", shared by every request of the process


@app.get("/users/{user_id}/profile")
async def profile(user_id: int) -> dict[str, object]:
    current["user_id"] = user_id
    row = await app.state.pool.fetchrow(USER, current["user_id"])  # other requests run meanwhile...
    return {"id": current["user_id"], "name": row["name"]}  # ...and one of them set `current`
