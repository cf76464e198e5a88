"""Bad (the default): plain dicts and no response model: `jsonable_encoder` walks every value, then
the standard library's `json.dumps` encodes the result."""

from apps.common import make_app
from apps.json_serialization.payload import ROWS

app = make_app("json-serialization: bad_jsonable")


@app.get("/items", response_model=None)
async def items() -> list[dict[str, object]]:
    return ROWS
