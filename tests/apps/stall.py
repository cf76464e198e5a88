"""Answers at once, except that one request (the STALL_AT-th) blocks the loop for STALL_S seconds."""

import os
import time

from apps.common import make_app

STALL_AT = int(os.environ.get("STALL_AT", "40"))
STALL_S = float(os.environ.get("STALL_S", "1.0"))
app = make_app("stall")
seen = {"n": 0}


@app.get("/work")
async def work() -> dict[str, object]:
    seen["n"] += 1
    if seen["n"] == STALL_AT:
        time.sleep(STALL_S)  # the whole loop stops: every request due meanwhile waits
    return {"ok": True, "waited_ms": 1}
