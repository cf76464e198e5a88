"""A route that leaks a little memory on every request, as a cache without bounds or a list that
is only ever appended to would: the same code in every variant; the fixes recycle the workers."""

import os

from apps.common import make_app

LEAK_KB = int(os.environ.get("LEAK_KB", "64"))  # kept per request, never freed
_kept: list[bytes] = []  # module state: one list per worker process

app = make_app("worker-recycling: a slow leak")


@app.get("/work")
async def work() -> dict[str, int]:
    # Filled, not zeroed: a zeroed allocation can stay unbacked by memory until written.
    _kept.append(b"\x01" * (LEAK_KB * 1024))
    return {"pid": os.getpid(), "kept_kb": len(_kept) * LEAK_KB}
