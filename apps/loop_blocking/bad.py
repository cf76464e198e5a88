"""Bad: a blocking call inside `async def` stops the worker's only event loop."""

import time

from apps.common import make_app
from apps.loop_blocking.settings import BLOCK_MS, BLOCK_S

app = make_app("loop-blocking: bad")


@app.get("/work")
async def work() -> dict[str, object]:
    time.sleep(BLOCK_S)  # a blocking SDK call: no other request on this worker moves meanwhile
    return {"ok": True, "waited_ms": BLOCK_MS}
