"""Fix: answer first, send the audit from BackgroundTasks after the response has gone out.

Caveat: the task runs in this process, and until it finishes it exists only in memory. A graceful
stop (SIGTERM) waits for it; a hard one (SIGKILL after a grace that ran out, the OOM killer, a
crash) loses it, though the client was told "confirmed".
"""

from fastapi import BackgroundTasks

from apps.common import http_client, make_app
from apps.inline_side_work.audit import send_audit

app = make_app("inline-side-work: fix_background", http_client(timeout=5))


@app.get("/checkout/{order_id}")
async def checkout(order_id: int, background: BackgroundTasks) -> dict[str, object]:
    background.add_task(send_audit, app.state.client, order_id)  # runs after the response is sent
    return {"order_id": order_id, "status": "confirmed"}
