"""Bad: the response waits for the audit call, which the client does not need."""

from apps.common import http_client, make_app
from apps.inline_side_work.audit import send_audit

app = make_app("inline-side-work: bad", http_client(timeout=5))


@app.get("/checkout/{order_id}")
async def checkout(order_id: int) -> dict[str, object]:
    await send_audit(app.state.client, order_id)  # the client waits for a record it never sees
    return {"order_id": order_id, "status": "confirmed"}
