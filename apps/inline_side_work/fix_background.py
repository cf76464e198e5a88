"""Fix: answer first, send the audit from BackgroundTasks after the response has gone out.

Caveat: the task still runs in this process. Until it finishes it is only in memory: a hard
restart (SIGKILL, OOM, a deploy that does not wait) loses it. Work that must not be lost needs a
queue outside the process.
"""

from fastapi import BackgroundTasks

from apps.common import http_client, make_app
from apps.inline_side_work.audit import PENDING, send_audit

app = make_app("inline-side-work: fix_background", http_client(timeout=5))


@app.get("/checkout/{order_id}")
async def checkout(order_id: int, background: BackgroundTasks) -> dict[str, object]:
    PENDING["audits"] += 1
    background.add_task(send_audit, app.state.client, order_id)  # runs after the response is sent
    return {"order_id": order_id, "status": "confirmed"}


@app.get("/lab/pending")
async def pending() -> dict[str, int]:
    return PENDING
