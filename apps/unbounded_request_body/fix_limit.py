"""Fix, and a contract of its own: stream as fix_stream does, and refuse an upload over
MAX_UPLOAD_BYTES with 413: up front when Content-Length says so (before reading a byte of it),
or as soon as the count passes the limit (a chunked body, or a Content-Length that lied)."""

import hashlib
import tempfile

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from apps.common import make_app
from apps.unbounded_request_body.storage import MAX_UPLOAD_BYTES, UPLOAD_DIR, hand_off

app = make_app("unbounded-request-body: fix_limit")


def too_large() -> HTTPException:
    return HTTPException(413, f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")


@app.put("/upload")
async def upload(request: Request) -> dict[str, object]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise too_large()
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=UPLOAD_DIR, prefix="upload-") as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise too_large()
            digest.update(chunk)
            await run_in_threadpool(spool.write, chunk)
        await run_in_threadpool(spool.flush)
        await hand_off(spool.name)
    return {"bytes": size, "sha256": digest.hexdigest()}
