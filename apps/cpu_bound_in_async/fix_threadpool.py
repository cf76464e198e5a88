"""Fix for work that releases the GIL: run it in a thread; the loop keeps serving meanwhile."""

from fastapi.concurrency import run_in_threadpool

from apps.common import make_app
from apps.cpu_bound_in_async.work import compute

app = make_app("cpu-bound-in-async: fix_threadpool")


@app.get("/work/{seed}")
async def work(seed: int) -> dict[str, object]:
    return {"seed": seed, "digest": await run_in_threadpool(compute, seed)}
