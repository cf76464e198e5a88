"""Bad: timing middleware written with `@app.middleware("http")` (Starlette's BaseHTTPMiddleware):
every request and response is re-wrapped through an extra task and memory streams."""

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from apps.common import make_app

app = make_app("base-http-middleware: bad")


@app.middleware("http")
async def timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    start = time.perf_counter()
    response = await call_next(request)
    response.headers["x-process-time-ms"] = f"{(time.perf_counter() - start) * 1000:.3f}"
    return response


@app.get("/orders/{order_id}")
async def order(order_id: int) -> dict[str, object]:
    return {"order_id": order_id, "status": "shipped", "lines": [{"sku": f"SKU-{order_id % 50}", "qty": 1}]}
