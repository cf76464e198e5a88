"""Fix, durable: the audit is a row in an outbox table, inserted in the request's own transaction
(beside the order's own writes, in a real checkout), and a worker in each server process posts the
rows and deletes them only once the audit service took them. The audit is committed before the
answer goes out: a restart, even a SIGKILL, delays it but cannot lose it. Delivery is at least
once (a worker killed between the post and the commit posts it again), which the idempotency key
makes harmless.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
import httpx
from fastapi import FastAPI

from apps.common import asyncpg_pool, http_client, make_app
from apps.inline_side_work.audit import send_audit

OUTBOX = "CREATE TABLE IF NOT EXISTS audit_outbox (id bigserial PRIMARY KEY, order_id bigint NOT NULL)"
# Claimed rows stay locked (and other workers skip them) until the transaction ends; deleted for
# good only if every post in the batch succeeded and the transaction commits.
CLAIM = """DELETE FROM audit_outbox WHERE id IN
  (SELECT id FROM audit_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING order_id"""
BATCH, POLL_S = 200, 0.05


async def deliver(pool: asyncpg.Pool, client: httpx.AsyncClient, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            async with pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(CLAIM, BATCH)
                await asyncio.gather(*(send_audit(client, row["order_id"]) for row in rows))
        except (OSError, httpx.HTTPError, asyncpg.PostgresError):
            logging.exception("outbox: batch not delivered; its rows stay queued")
            rows = []
        if len(rows) < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), POLL_S)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The shared helpers' pool and client (app.state.pool, app.state.client), plus the worker.
    async with asyncpg_pool(min_size=2, max_size=10)(app), http_client(timeout=5)(app):
        async with app.state.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7)")  # workers starting together
            await conn.execute(OUTBOX)
        stopping = asyncio.Event()
        worker = asyncio.create_task(deliver(app.state.pool, app.state.client, stopping))
        yield
        # A graceful stop lets the batch in flight finish (posted and committed, so not posted
        # again by the next start); a hard one leaves it uncommitted, and so queued.
        stopping.set()
        await worker


app = make_app("inline-side-work: fix_outbox", lifespan)


@app.get("/checkout/{order_id}")
async def checkout(order_id: int) -> dict[str, object]:
    async with app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO audit_outbox (order_id) VALUES ($1)", order_id)
    return {"order_id": order_id, "status": "confirmed"}
