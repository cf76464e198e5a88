"""Fix: an async client: waiting on the upstream costs a coroutine, not a thread."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from apps.common import UPSTREAM_URL, make_app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=5, limits=limits) as client:
        app.state.client = client
        yield


app = make_app("threadpool-exhaustion: fix_async", lifespan)


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
