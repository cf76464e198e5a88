"""The short request every variant also serves, from the same pool: one order by id."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from apps.models import Order
from apps.streaming_session.db import Session


async def get_session() -> AsyncIterator[AsyncSession]:
    async with Session() as session:  # closed after the response is sent (FastAPI's default scope)
        yield session


def add_order_route(app: FastAPI) -> None:
    @app.get("/orders/{order_id}")
    async def order(order_id: int, session: Annotated[AsyncSession, Depends(get_session)]) -> dict[str, int]:
        found = await session.get(Order, order_id)
        if found is None:
            raise HTTPException(status_code=404, detail="order not found")
        return {"id": found.id, "user_id": found.user_id, "total_cents": found.total_cents}
