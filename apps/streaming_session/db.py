"""What every variant shares: a small pool that fails fast when empty, the export's shape, and the
pace at which the export's client reads it.

The client's pace: `StreamingResponse` awaits each chunk's send, and a client that reads slowly
(a phone, a spreadsheet import, a browser behind a slow link) makes that await, and so the
generator, wait. `client_pace()` stands for that wait, PACE_S per chunk, so that every variant
streams for the same time (EXPORTED / BATCH chunks x PACE_S: 2 s by default) and differs only in
what it holds while it waits.
"""

import asyncio
import os

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from apps.common import ASYNCPG_SETTINGS, database_url
from apps.models import Order

POOL = int(os.environ.get("POOL", "5"))
EXPORTED = int(os.environ.get("EXPORTED", "1000"))  # orders in one export
BATCH = int(os.environ.get("BATCH", "50"))  # orders per chunk
PACE_S = float(os.environ.get("PACE_S", "0.1"))

# pool_timeout: a request that cannot get a connection fails after 1 s instead of queueing forever.
engine = create_async_engine(
    database_url("postgresql+asyncpg"),
    pool_size=POOL,
    max_overflow=0,
    pool_timeout=1,
    connect_args={"server_settings": ASYNCPG_SETTINGS},
)
Session = async_sessionmaker(engine, expire_on_commit=False)
EXPORT = select(Order).order_by(Order.id).limit(EXPORTED)


def line(order: Order) -> str:
    return f'{{"id":{order.id},"user_id":{order.user_id},"total_cents":{order.total_cents}}}\n'


async def client_pace() -> None:
    """The wait for a slow reader to take the chunk just sent (see the module's docstring)."""
    await asyncio.sleep(PACE_S)
