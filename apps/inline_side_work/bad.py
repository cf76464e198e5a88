"""Bad: the response waits for the audit call, which the client does not need."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from apps.common import UPSTREAM_URL, make_app
from apps.inline_side_work.audit import PENDING, send_audit


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=5) as client:
        app.state.client = client
        yield


app = make_app("inline-side-work: bad", lifespan)


@app.get("/checkout/{order_id}")
async def checkout(order_id: int) -> dict[str, object]:
    PENDING["audits"] += 1
    await send_audit(app.state.client, order_id)  # the client waits for a record it never sees
    return {"order_id": order_id, "status": "confirmed"}


@app.get("/lab/pending")
async def pending() -> dict[str, int]:
    return PENDING
