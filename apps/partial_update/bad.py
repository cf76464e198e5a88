"""Bad: the PATCH applies every field of the partial model, so the fields a client did not send
(None in the model) overwrite what was stored."""

from apps.common import make_app
from apps.partial_update.settings import STORE, Settings, SettingsPatch, current

app = make_app("partial-update: bad")
app.add_api_route("/users/{user_id}/settings", current, methods=["GET"], response_model=Settings)


@app.patch("/users/{user_id}/settings")
async def update(user_id: int, patch: SettingsPatch) -> Settings:
    STORE[user_id] = current(user_id).model_copy(update=patch.model_dump())  # unsent fields: None, applied
    return STORE[user_id]
