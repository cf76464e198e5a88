"""Bad: CPU work inside `async def`: the loop computes, and serves nobody else meanwhile."""

from apps.common import make_app
from apps.cpu_bound_in_async.work import compute

app = make_app("cpu-bound-in-async: bad")


@app.get("/work/{seed}")
async def work(seed: int) -> dict[str, object]:
    return {"seed": seed, "digest": compute(seed)}  # holds the event loop for the whole computation
