"""Fix: keep the blocking code, raise the threadpool's limit in the lifespan (40 -> 200 threads)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import requests
from fastapi import FastAPI

from apps.common import UPSTREAM_URL, make_app

THREADS = 200


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS  # per worker process
    yield


app = make_app("threadpool-exhaustion: fix_limiter", lifespan)


@app.get("/items/{item_id}")
def item(item_id: int) -> dict[str, object]:
    answer = requests.get(f"{UPSTREAM_URL}/items/{item_id}", timeout=5)
    return {"id": item_id, "source": answer.json()["source"]}
