"""Fix: page through the export by key, one short session per page: the connection is held while a
page is read, never while the client reads it, and memory holds one page."""

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse
from sqlalchemy import select

from apps.common import make_app
from apps.models import Order
from apps.streaming_session.db import BATCH, EXPORTED, Session, client_pace, line
from apps.streaming_session.orders import add_order_route

app = make_app("streaming-session: fix_batch_sessions")
add_order_route(app)


@app.get("/export")
async def export() -> StreamingResponse:
    async def chunks() -> AsyncIterator[str]:
        after, sent = 0, 0
        while sent < EXPORTED:
            page = select(Order).where(Order.id > after).order_by(Order.id).limit(min(BATCH, EXPORTED - sent))
            async with Session() as session:  # back to the pool before the client reads the page
                orders = (await session.scalars(page)).all()
            if not orders:
                return
            yield "".join(line(order) for order in orders)
            after, sent = orders[-1].id, sent + len(orders)
            await client_pace()

    return StreamingResponse(chunks(), media_type="application/x-ndjson")
