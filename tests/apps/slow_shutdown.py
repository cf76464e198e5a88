"""An app whose shutdown takes longer than the lab's grace period: it must be killed, and the record say so."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apps.common import make_app


@asynccontextmanager
async def drains_forever(app: FastAPI) -> AsyncIterator[None]:
    yield
    await asyncio.sleep(60)  # "draining" work at shutdown, past any grace period


app = make_app("slow shutdown", drains_forever)


@app.get("/work")
async def work() -> dict[str, object]:
    return {"ok": True, "waited_ms": 1}
