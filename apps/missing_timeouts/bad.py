"""Bad: no timeout on the upstream call: when the upstream hangs, every request waits as long as it does."""

from apps.common import http_client, make_app

app = make_app("missing-timeouts: bad", http_client(timeout=None))  # waits forever


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
