"""One small POST route, the same code in every variant: the pitfall is in how the app is deployed.

nginx keeps idle connections to the app open for reuse (`keepalive` in its upstream block) for its
`keepalive_timeout` (60 s). uvicorn closes an idle connection after its own `--timeout-keep-alive`
(5 s by default). When the app closes a connection at the moment nginx sends the next request on
it, nginx gets the close instead of an answer and, for a POST, which it may not send twice,
answers 502 itself. The variants differ only in those two timeouts (scenarios/proxy-keepalive.toml).
"""

import os

from fastapi import Request

from apps.common import make_app

app = make_app("proxy-keepalive: one POST behind nginx")


@app.post("/orders")
async def create_order(request: Request) -> dict[str, int]:
    body = await request.body()
    return {"pid": os.getpid(), "bytes": len(body)}  # a non-idempotent request, as an order would be
