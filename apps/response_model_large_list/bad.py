"""Bad: the whole table through `response_model` on every request: thousands of objects validated
from attributes, then serialized."""

from apps.common import make_app
from apps.response_model_large_list.data import USERS, UserOut

app = make_app("response-model-large-list: bad")


@app.get("/users", response_model=list[UserOut])
async def users() -> list[object]:
    return USERS  # every row validated into UserOut, then serialized, per request
