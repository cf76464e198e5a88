"""Fix: stream the upload to a spool file chunk by chunk, hashing as it comes; memory holds one
chunk per upload in flight, whatever the upload's size. Same answers as bad."""

import hashlib
import tempfile

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from apps.common import make_app
from apps.unbounded_request_body.storage import UPLOAD_DIR, hand_off

app = make_app("unbounded-request-body: fix_stream")


@app.put("/upload")
async def upload(request: Request) -> dict[str, object]:
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=UPLOAD_DIR, prefix="upload-") as spool:
        async for chunk in request.stream():  # one socket read at a time
            digest.update(chunk)
            size += len(chunk)
            await run_in_threadpool(spool.write, chunk)  # disk writes off the event loop
        await run_in_threadpool(spool.flush)
        await hand_off(spool.name)
    return {"bytes": size, "sha256": digest.hexdigest()}
