"""Bad: stream the export from a query in the request's session. A `yield` dependency closes its
session after the response is sent, and a streamed response is sent for as long as the client
reads: the connection stays checked out, idle in transaction, for the whole stream."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from apps.common import make_app
from apps.streaming_session.db import BATCH, EXPORT, client_pace, line
from apps.streaming_session.orders import add_order_route, get_session

app = make_app("streaming-session: bad")
add_order_route(app)


@app.get("/export")
async def export(session: Annotated[AsyncSession, Depends(get_session)]) -> StreamingResponse:
    async def chunks() -> AsyncIterator[str]:
        result = await session.stream_scalars(EXPORT.execution_options(yield_per=BATCH))
        async for batch in result.partitions(BATCH):  # a server-side cursor, read as the client reads
            yield "".join(line(order) for order in batch)
            await client_pace()

    return StreamingResponse(chunks(), media_type="application/x-ndjson")
