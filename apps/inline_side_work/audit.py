"""The side work both variants do: an audit record posted to another service (slow, non-critical).

`PENDING` counts audits scheduled but not yet delivered; both variants publish it at /lab/pending,
so the lab can sample how much work a restart would lose.
"""

import httpx

PENDING = {"audits": 0}


async def send_audit(client: httpx.AsyncClient, order_id: int) -> None:
    try:
        await client.post("/audit", json={"order_id": order_id, "event": "checkout"})
    finally:
        PENDING["audits"] -= 1
