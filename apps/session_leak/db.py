"""The engine and session factory both variants share: a small pool that fails fast when empty."""

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from apps.common import ASYNCPG_SETTINGS, database_url

# pool_timeout: a request that cannot get a connection fails after 2 s instead of queueing forever.
engine = create_async_engine(
    database_url("postgresql+asyncpg"),
    pool_size=5,
    max_overflow=0,
    pool_timeout=2,
    connect_args={"server_settings": ASYNCPG_SETTINGS},
)
Session = async_sessionmaker(engine, expire_on_commit=False)
