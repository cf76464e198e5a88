"""Bad: no timeout on the upstream call: when the upstream hangs, every request waits as long as it does."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from apps.common import UPSTREAM_URL, make_app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=None) as client:  # waits forever
        app.state.client = client
        yield


app = make_app("missing-timeouts: bad", lifespan)


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    answer = await app.state.client.get(f"/items/{item_id}")
    return {"id": item_id, "source": answer.json()["source"]}
