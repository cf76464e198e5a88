"""Fix: keep the blocking call, declare the endpoint `def`; FastAPI runs it in the threadpool."""

import time

from apps.common import make_app
from apps.loop_blocking.settings import BLOCK_MS, BLOCK_S

app = make_app("loop-blocking: fix_threadpool")


@app.get("/work")
def work() -> dict[str, object]:
    time.sleep(BLOCK_S)  # blocks one of the 40 threadpool threads, not the event loop
    return {"ok": True, "waited_ms": BLOCK_MS}
