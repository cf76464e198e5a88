"""Fix: keep `requests`, declare the endpoint `def`: each call blocks a threadpool thread instead."""

import requests

from apps.common import UPSTREAM_URL, make_app

app = make_app("sync-http-client: fix_def")


@app.get("/items/{item_id}")
def item(item_id: int) -> dict[str, object]:
    answer = requests.get(f"{UPSTREAM_URL}/items/{item_id}", timeout=5)  # blocks one of 40 threads
    return {"id": item_id, "source": answer.json()["source"]}
