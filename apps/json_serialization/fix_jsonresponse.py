"""Fix: build the JSONResponse yourself: no `jsonable_encoder` pass, stdlib `json.dumps` only."""

from fastapi.responses import JSONResponse

from apps.common import make_app
from apps.json_serialization.payload import ROWS

app = make_app("json-serialization: fix_jsonresponse")


@app.get("/items")
async def items() -> JSONResponse:
    return JSONResponse(ROWS)
