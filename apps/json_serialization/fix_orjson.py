"""Fix (the articles' advice): ORJSONResponse: orjson, in Rust, encodes the dicts directly.
FastAPI deprecates ORJSONResponse from 0.131 on, in favour of response models."""

from fastapi.responses import ORJSONResponse

from apps.common import make_app
from apps.json_serialization.payload import ROWS

app = make_app("json-serialization: fix_orjson")


@app.get("/items")
async def items() -> ORJSONResponse:
    return ORJSONResponse(ROWS)
