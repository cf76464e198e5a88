"""Fix: fetch the rows in a session that closes before the response starts, then stream from
memory. The connection is held for the query alone; the price is the export in memory."""

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from apps.common import make_app
from apps.streaming_session.db import BATCH, EXPORT, Session, client_pace, line
from apps.streaming_session.orders import add_order_route

app = make_app("streaming-session: fix_fetch_first")
add_order_route(app)


@app.get("/export")
async def export() -> StreamingResponse:
    async with Session() as session:  # not a request-scoped dependency: closed right here
        orders = (await session.scalars(EXPORT)).all()

    async def chunks() -> AsyncIterator[str]:
        for start in range(0, len(orders), BATCH):
            yield "".join(line(order) for order in orders[start : start + BATCH])
            await client_pace()

    return StreamingResponse(chunks(), media_type="application/x-ndjson")
