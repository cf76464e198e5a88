"""Fix (FastAPI's advice since 0.130): declare the return type; Pydantic serializes the models to JSON
bytes in Rust. Before 0.130 the same code goes through validation and `jsonable_encoder`."""

from apps.common import make_app
from apps.json_serialization.payload import MODELS, Item

app = make_app("json-serialization: fix_response_model")


@app.get("/items")
async def items() -> list[Item]:
    return MODELS
