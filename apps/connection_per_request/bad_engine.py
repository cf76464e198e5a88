"""Bad, the ORM way: a SQLAlchemy engine (and so a pool) created inside the endpoint."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from apps.common import ASYNCPG_SETTINGS, database_url, make_app

app = make_app("connection-per-request: bad_engine")


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, object]:
    engine = create_async_engine(database_url("postgresql+asyncpg"), connect_args={"server_settings": ASYNCPG_SETTINGS})
    try:
        async with engine.connect() as conn:  # the new engine's pool is empty: always a new connection
            row = (await conn.execute(text("SELECT id, name, email FROM users WHERE id = :id"), {"id": user_id})).one()
    finally:
        await engine.dispose()
    return dict(row._mapping)
