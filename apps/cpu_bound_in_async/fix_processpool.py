"""Fix for pure-Python work: a process pool, so the computation holds another interpreter's GIL."""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apps.common import make_app
from apps.cpu_bound_in_async.work import compute


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        app.state.pool = pool
        yield


app = make_app("cpu-bound-in-async: fix_processpool", lifespan)


@app.get("/work/{seed}")
async def work(seed: int) -> dict[str, object]:
    digest = await asyncio.get_running_loop().run_in_executor(app.state.pool, compute, seed)
    return {"seed": seed, "digest": digest}
