"""Bad: `def` endpoints making slow blocking calls: at most 40 run at once (AnyIO's default
threadpool), so throughput stops at 40 / call duration however many clients wait."""

import requests

from apps.common import UPSTREAM_URL, make_app

app = make_app("threadpool-exhaustion: bad")


@app.get("/items/{item_id}")
def item(item_id: int) -> dict[str, object]:
    answer = requests.get(f"{UPSTREAM_URL}/items/{item_id}", timeout=5)  # holds one of 40 threads
    return {"id": item_id, "source": answer.json()["source"]}
