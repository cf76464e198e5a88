"""Bad: `requests` (a sync HTTP client) inside `async def`: the loop waits for every upstream call."""

import requests

from apps.common import UPSTREAM_URL, make_app

app = make_app("sync-http-client: bad")


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = requests.get(f"{UPSTREAM_URL}/items/{item_id}", timeout=5)  # blocks the event loop
    return {"id": item_id, "source": answer.json()["source"]}
