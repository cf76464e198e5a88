"""What every variant of every pitfall shares, kept out of the slides.

Each variant is still a complete app: `make_app` returns a FastAPI instance with the
lab's readiness route (`/health`) and the lifespan the variant passes in.
"""

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def no_resources(app: FastAPI) -> AsyncIterator[None]:
    yield


def make_app(title: str, lifespan: Lifespan = no_resources) -> FastAPI:
    app = FastAPI(title=title, lifespan=lifespan)

    # The runner waits on this route before any load, and the neighbour probe in the
    # locustfiles times it: it must stay as cheap as a route can be.
    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def database_url(scheme: str = "postgresql") -> str:
    """The run's database (the lab sets DATABASE_URL), with the driver's URL scheme."""
    url = os.environ["DATABASE_URL"]
    return scheme + url[url.index("://") :]


# The lab sets PGAPPNAME per variant; libpq-based drivers read it, asyncpg takes it explicitly.
APP_NAME = os.environ.get("PGAPPNAME", "lab-app")
ASYNCPG_SETTINGS = {"application_name": APP_NAME}

# The lab's upstream service, for the pitfalls that call other services (the lab sets UPSTREAM_URL).
UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:9")


def http_client(**options: Any) -> Lifespan:
    """A lifespan that opens one `httpx.AsyncClient` to the upstream for the worker's life, as
    `app.state.client`; `options` go to the client (timeout, limits...)."""

    import httpx  # here, so apps that call no upstream do not pay for the import

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=UPSTREAM_URL, **options) as client:
            app.state.client = client
            yield

    return lifespan


def asyncpg_pool(**options: Any) -> Lifespan:
    """A lifespan that opens one asyncpg pool for the worker's life, as `app.state.pool`."""

    import asyncpg  # here, so apps without a database do not pay for the import

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with asyncpg.create_pool(database_url(), server_settings=ASYNCPG_SETTINGS, **options) as pool:
            app.state.pool = pool
            yield

    return lifespan
