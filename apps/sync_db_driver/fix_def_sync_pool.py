"""Fix: keep the sync driver, declare the endpoint `def`: each query blocks a threadpool thread."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from apps.common import database_url, make_app
from apps.sync_db_driver.query import QUERY_S, SUMMARY_PSYCOPG


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    with ConnectionPool(database_url(), min_size=20, max_size=20) as pool:
        app.state.pool = pool
        yield


app = make_app("sync-db-driver: fix_def_sync_pool", lifespan)


@app.get("/users/{user_id}/summary")
def summary(user_id: int) -> dict[str, int]:
    with app.state.pool.connection() as conn:  # blocks one of the 40 threadpool threads, not the loop
        orders, total = conn.execute(SUMMARY_PSYCOPG, (QUERY_S, user_id)).fetchone()
    return {"user_id": user_id, "orders": orders, "total_cents": total}
