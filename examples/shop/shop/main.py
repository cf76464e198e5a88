"""A small shop service: the example a CI gate runs on (examples/README.md), and the service the
lab's tests meet as somebody else's: its own health route, a list, a route with a path parameter,
one with a required query parameter and one with a body."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="shop")
ITEMS = [{"id": i, "name": f"item {i}", "price_cents": 100 + i} for i in range(100)]


class Item(BaseModel):
    name: str


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/items")
async def items(limit: int = 20) -> list[dict[str, object]]:
    return ITEMS[:limit]


@app.get("/items/{item_id}", summary="One item")
async def item(item_id: int) -> dict[str, object]:
    return ITEMS[item_id % len(ITEMS)]


@app.get("/search")
async def search(q: str) -> list[dict[str, object]]:
    return [i for i in ITEMS if q in str(i["name"])]


@app.post("/items")
async def create(body: Item) -> dict[str, object]:
    return {"id": len(ITEMS), "name": body.name}
