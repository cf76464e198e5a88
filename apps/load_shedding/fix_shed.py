"""Fix, in the app: a pure ASGI middleware that admits at most LIMIT requests at once and answers
the rest 503 with Retry-After at once. Admitted requests wait for at most LIMIT - POOL others
(two service times here); the excess is refused in microseconds instead of queued for seconds.
Counts requests, not connections: idle keep-alive connections cost nothing."""

import os

from starlette.types import ASGIApp, Receive, Scope, Send

from apps.load_shedding.service import POOL, user_service

LIMIT = int(os.environ.get("SHED_LIMIT", str(3 * POOL)))  # in progress: POOL served, the rest waiting


class ShedLoad:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit, self.in_progress = app, limit, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", b"1")]})
            await send({"type": "http.response.body", "body": b""})
            return
        self.in_progress += 1  # one event loop per worker: no lock needed between the check and this
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1


app = user_service("load-shedding: fix_shed")
app.add_middleware(ShedLoad, limit=LIMIT)
