"""Fix: the same timing middleware as a pure ASGI middleware: it only wraps `send` to add a header."""

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.common import make_app


class Timing:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["x-process-time-ms"] = f"{(time.perf_counter() - start) * 1000:.3f}"
            await send(message)

        await self.app(scope, receive, send_with_timing)


app = make_app("base-http-middleware: fix_pure_asgi")
app.add_middleware(Timing)


@app.get("/orders/{order_id}")
async def order(order_id: int) -> dict[str, object]:
    return {"order_id": order_id, "status": "shipped", "lines": [{"sku": f"SKU-{order_id % 50}", "qty": 1}]}
