"""Bad: read the whole upload into memory, however large, and hold it until it is handed off.
Every upload in flight costs its full size in RAM (and twice that while Starlette joins the
chunks): a handful of large ones at once is hundreds of megabytes."""

import hashlib

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from apps.common import make_app
from apps.unbounded_request_body.storage import hand_off

app = make_app("unbounded-request-body: bad")


@app.put("/upload")
async def upload(request: Request) -> dict[str, object]:
    body = await request.body()  # every byte of the upload, in memory
    digest = await run_in_threadpool(hashlib.sha256, body)
    await hand_off(body)
    return {"bytes": len(body), "sha256": digest.hexdigest()}
