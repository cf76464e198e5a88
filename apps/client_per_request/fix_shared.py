"""Fix: one client per worker, opened in the lifespan and kept on app.state: connections are reused."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from apps.common import UPSTREAM_URL, make_app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=5) as client:
        app.state.client = client
        yield


app = make_app("client-per-request: fix_shared", lifespan)


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")  # a pooled, kept-alive connection
    return {"id": item_id, "source": answer.json()["source"]}
