"""Bad: the PATCH applies every field of the partial model, so the fields a client did not send
(None in the model) overwrite what was stored."""

from fastapi import FastAPI

from apps.common import asyncpg_pool, make_app
from apps.shared_state import fix
from apps.shared_state.accounts import STORE, Settings, SettingsPatch

app: FastAPI = make_app("shared-state: bad_patch", asyncpg_pool(min_size=1, max_size=10))
app.add_api_route("/users/{user_id}/profile", fix.profile, methods=["GET"])  # right; the bug is below


@app.patch("/users/{user_id}/settings")
async def update(user_id: int, patch: SettingsPatch) -> Settings:
    stored = STORE.setdefault(user_id, Settings())
    STORE[user_id] = stored.model_copy(update=patch.model_dump())  # unsent fields: None, applied
    return STORE[user_id]
