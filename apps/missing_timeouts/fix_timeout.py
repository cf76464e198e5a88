"""Fix, step 1: a timeout sized to the upstream. The wait is bounded; the hang's requests still
fail, but fast (and are counted)."""

import httpx

from apps.common import http_client, make_app

TIMEOUT = httpx.Timeout(0.25)  # the upstream answers in ~20 ms when healthy: 0.25 s is a clear failure

app = make_app("missing-timeouts: fix_timeout", http_client(timeout=TIMEOUT))


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
