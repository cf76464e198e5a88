"""Fix: per-request state in local variables (or a ContextVar, or `request.state`), and a PATCH
that applies only the fields the client sent (`model_dump(exclude_unset=True)`)."""

from fastapi import FastAPI, Request

from apps.common import asyncpg_pool, make_app
from apps.shared_state.accounts import STORE, USER, Settings, SettingsPatch

app: FastAPI = make_app("shared-state: fix", asyncpg_pool(min_size=1, max_size=10))


@app.get("/users/{user_id}/profile")
async def profile(user_id: int, request: Request) -> dict[str, object]:
    row = await request.app.state.pool.fetchrow(USER, user_id)
    return {"id": user_id, "name": row["name"]}  # this request's own user_id


@app.patch("/users/{user_id}/settings")
async def update(user_id: int, patch: SettingsPatch) -> Settings:
    stored = STORE.setdefault(user_id, Settings())
    STORE[user_id] = stored.model_copy(update=patch.model_dump(exclude_unset=True))  # only what was sent
    return STORE[user_id]
