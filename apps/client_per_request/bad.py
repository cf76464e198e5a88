"""Bad: a new `httpx.AsyncClient` for every request: new connection pool, new TCP connection, new TLS context."""

import httpx

from apps.common import UPSTREAM_URL, make_app

app = make_app("client-per-request: bad")


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=5) as client:  # built and torn down per request
        answer = await client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
