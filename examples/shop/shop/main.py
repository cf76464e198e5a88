"""A small shop service: the example a CI gate runs on (examples/README.md)."""

from fastapi import FastAPI

app = FastAPI(title="shop")
ITEMS = [{"id": i, "name": f"item {i}", "price_cents": 100 + i} for i in range(100)]


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/items")
async def items(limit: int = 20) -> list[dict[str, object]]:
    return ITEMS[:limit]


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    return ITEMS[item_id % len(ITEMS)]
