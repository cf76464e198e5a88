"""Fix: the PATCH applies only the fields the client sent (`model_dump(exclude_unset=True)`)."""

from apps.common import make_app
from apps.partial_update.settings import STORE, Settings, SettingsPatch, current

app = make_app("partial-update: fix")
app.add_api_route("/users/{user_id}/settings", current, methods=["GET"], response_model=Settings)


@app.patch("/users/{user_id}/settings")
async def update(user_id: int, patch: SettingsPatch) -> Settings:
    STORE[user_id] = current(user_id).model_copy(update=patch.model_dump(exclude_unset=True))  # only what was sent
    return STORE[user_id]
