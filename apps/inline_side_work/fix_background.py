"""Fix: answer first, send the audit from BackgroundTasks after the response has gone out.

Caveat: the task still runs in this process. Until it finishes it is only in memory: a hard
restart (SIGKILL, OOM, a deploy that does not wait) loses it. Work that must not be lost needs a
queue outside the process.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import BackgroundTasks, FastAPI

from apps.common import UPSTREAM_URL, make_app
from apps.inline_side_work.audit import PENDING, send_audit


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=5) as client:
        app.state.client = client
        yield


app = make_app("inline-side-work: fix_background", lifespan)


@app.get("/checkout/{order_id}")
async def checkout(order_id: int, background: BackgroundTasks) -> dict[str, object]:
    PENDING["audits"] += 1
    background.add_task(send_audit, app.state.client, order_id)  # runs after the response is sent
    return {"order_id": order_id, "status": "confirmed"}


@app.get("/lab/pending")
async def pending() -> dict[str, int]:
    return PENDING
