"""Fix: one client per worker, opened in the lifespan and kept on app.state: connections are reused."""

from apps.common import http_client, make_app

app = make_app("client-per-request: fix_shared", http_client(timeout=5))  # one AsyncClient per worker


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")  # a pooled, kept-alive connection
    return {"id": item_id, "source": answer.json()["source"]}
