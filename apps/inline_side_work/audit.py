"""The side work every variant does: an audit record posted to another service (slow, non-critical).

The post carries an idempotency key, as a write that may be retried must: the audit service takes
each key once, and the lab matches the keys it took against the checkouts confirmed to clients.
"""

import httpx


async def send_audit(client: httpx.AsyncClient, order_id: int) -> None:
    response = await client.post(
        "/audit",
        json={"order_id": order_id, "event": "checkout"},
        headers={"Idempotency-Key": f"checkout-{order_id}"},
    )
    response.raise_for_status()
