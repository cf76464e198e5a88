"""Fix: per-request state in local variables (or a ContextVar, or `request.state`): each request
keeps its own user across the `await`."""

from fastapi import FastAPI, Request

from apps.common import asyncpg_pool, make_app
from apps.shared_state.accounts import USER

app: FastAPI = make_app("shared-state: fix", asyncpg_pool(min_size=1, max_size=10))


@app.get("/users/{user_id}/profile")
async def profile(user_id: int, request: Request) -> dict[str, object]:
    row = await request.app.state.pool.fetchrow(USER, user_id)
    return {"id": user_id, "name": row["name"]}  # this request's own user_id
