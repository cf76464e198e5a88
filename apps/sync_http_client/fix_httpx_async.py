"""Fix: one shared `httpx.AsyncClient`, opened in the lifespan: the loop serves others while it waits."""

from apps.common import http_client, make_app

app = make_app("sync-http-client: fix_httpx_async", http_client(timeout=5))


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")  # yields while waiting
    return {"id": item_id, "source": answer.json()["source"]}
