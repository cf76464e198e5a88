"""Bad, with requests: its default is no timeout at all, so a request waits as long as the
upstream hangs (holding one of the threadpool's 40 threads meanwhile)."""

import requests

from apps.common import UPSTREAM_URL, make_app

app = make_app("missing-timeouts: bad_requests")


@app.get("/items/{item_id}")
def item(item_id: int) -> dict[str, object]:
    answer = requests.get(f"{UPSTREAM_URL}/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
