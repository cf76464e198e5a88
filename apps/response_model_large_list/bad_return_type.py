"""Also bad: no `response_model`, a return type instead, and the handler converts the rows itself
so that the type checker is satisfied. The return type *is* the response model: the same
validation (now one Python call per row) and the same serialization, per request."""

from apps.common import make_app
from apps.response_model_large_list.data import USERS, UserOut

app = make_app("response-model-large-list: bad_return_type")


@app.get("/users")
async def users() -> list[UserOut]:
    return [UserOut.model_validate(row) for row in USERS]
