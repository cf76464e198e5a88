"""Fix: an async client: waiting on the upstream costs a coroutine, not a thread."""

import httpx

from apps.common import http_client, make_app

LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
app = make_app("threadpool-exhaustion: fix_async", http_client(timeout=5, limits=LIMITS))


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
