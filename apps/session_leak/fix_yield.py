"""Fix: a `yield` dependency owns the session: commit on success, rollback on error, always close."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from apps.common import make_app
from apps.models import Order
from apps.session_leak.db import Session

app = make_app("session-leak: fix_yield")


async def get_session() -> AsyncIterator[AsyncSession]:
    async with Session() as session:  # closes (and returns the connection) however the request ends
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


@app.get("/orders/{order_id}")
async def order(order_id: int, session: Annotated[AsyncSession, Depends(get_session)]) -> dict[str, int]:
    found = await session.get(Order, order_id)
    if found is None:
        raise HTTPException(status_code=404, detail="order not found")
    return {"id": found.id, "user_id": found.user_id, "total_cents": found.total_cents}
