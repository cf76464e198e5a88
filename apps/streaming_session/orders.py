"""The short request every variant also serves, from the same pool: one order by id."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from apps.models import Order, order_fields
from apps.streaming_session.db import Session


async def get_session() -> AsyncIterator[AsyncSession]:
    async with Session() as session:  # closed after the response is sent (FastAPI's default scope)
        yield session


def add_order_route(app: FastAPI) -> None:
    @app.get("/orders/{order_id}")
    async def order(order_id: int, session: Annotated[AsyncSession, Depends(get_session)]) -> dict[str, int]:
        if (found := await session.get(Order, order_id)) is None:
            raise HTTPException(status_code=404, detail="order not found")
        return order_fields(found)
