"""Bad: no timeout given, so the client's default decides: httpx waits 5 s, then fails. During a
longer hang every request waits those 5 s and becomes an error after all."""

from apps.common import http_client, make_app

app = make_app("missing-timeouts: bad", http_client())  # httpx's default: 5 s


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
