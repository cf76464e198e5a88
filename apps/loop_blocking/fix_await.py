"""Fix: await a non-blocking equivalent, so the loop serves other requests while this one waits."""

import asyncio

from apps.common import make_app
from apps.loop_blocking.settings import BLOCK_MS, BLOCK_S

app = make_app("loop-blocking: fix_await")


@app.get("/work")
async def work() -> dict[str, object]:
    await asyncio.sleep(BLOCK_S)  # yields to the loop until the wait is over
    return {"ok": True, "waited_ms": BLOCK_MS}
