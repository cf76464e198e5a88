"""Also bad: drop the model to skip validation, and build the dicts by hand (listing the public
fields, or the hash leaks). Without a model FastAPI sends the dicts through `jsonable_encoder`, a
walk in Python over every value, and then stdlib `json`: slower than the validation it skipped."""

from apps.common import make_app
from apps.response_model_large_list.data import USERS

app = make_app("response-model-large-list: bad_no_model")


@app.get("/users", response_model=None)
async def users() -> list[dict[str, object]]:
    return [{"id": row.id, "name": row.name, "email": row.email, "plan": row.plan} for row in USERS]
