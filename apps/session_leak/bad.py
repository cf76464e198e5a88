"""Bad: the session comes from a plain function and is closed by hand, but not on the error path."""

from typing import Annotated

from fastapi import Depends, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from apps.common import make_app
from apps.models import Order
from apps.session_leak.db import Session

app = make_app("session-leak: bad")


async def get_session() -> AsyncSession:
    return Session()  # no yield, no finally: nobody closes it if the endpoint raises


@app.get("/orders/{order_id}")
async def order(order_id: int, session: Annotated[AsyncSession, Depends(get_session)]) -> dict[str, int]:
    found = await session.get(Order, order_id)  # begins a transaction, checks out a connection
    if found is None:
        raise HTTPException(status_code=404, detail="order not found")  # leaks it, idle in transaction
    await session.close()
    return {"id": found.id, "user_id": found.user_id, "total_cents": found.total_cents}
