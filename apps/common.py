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
    mechanism = os.environ.get("LAB_MECHANISM") == "1"
    app = FastAPI(title=title, lifespan=with_mechanism(lifespan) if mechanism else lifespan)

    # The runner waits on this route before any load, and the neighbour probe in the
    # locustfiles times it: it must stay as cheap as a route can be.
    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    if mechanism:
        app.add_api_route("/_lab/mechanism", read_mechanism, include_in_schema=False)
    return app


# -- the mechanism, measured inside the app (LAB_MECHANISM=1, set by the lab for `mechanism = true`) --
LAG_TICK_S = 0.01
_lag = {"max_ms": 0.0}


def with_mechanism(lifespan: Lifespan) -> Lifespan:
    """The variant's lifespan, plus a timer that measures how late the event loop runs it."""
    import asyncio

    @asynccontextmanager
    async def wrapped(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        handle: list[asyncio.TimerHandle] = []

        # A bare callback, not a task that sleeps: no Task step or Future per tick, which is most of
        # what the timer costs (scenarios/benchmarks/mechanism.toml measures it).
        def tick(due: float) -> None:
            now = loop.time()
            # How late the loop got to us: the time it was blocked (or busy) past our deadline.
            _lag["max_ms"] = max(_lag["max_ms"], (now - due) * 1000.0)
            handle[:] = [loop.call_at(now + LAG_TICK_S, tick, now + LAG_TICK_S)]

        first = loop.time() + LAG_TICK_S
        handle.append(loop.call_at(first, tick, first))
        try:
            async with lifespan(app):
                yield
        finally:
            handle[0].cancel()

    return wrapped


async def read_mechanism() -> dict[str, float]:
    """Loop lag (the worst since the last read) and AnyIO threadpool tokens in use now."""
    from anyio.to_thread import current_default_thread_limiter

    limiter = current_default_thread_limiter()
    worst, _lag["max_ms"] = _lag["max_ms"], 0.0
    return {
        "loop_lag_ms": round(worst, 3),
        "threadpool_in_use": float(limiter.borrowed_tokens),
        "threadpool_tokens": float(limiter.total_tokens),
    }


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


def aiohttp_session(connections: int, timeout_s: float) -> Lifespan:
    """A lifespan that opens one `aiohttp.ClientSession` to the upstream for the worker's life, as
    `app.state.session`, with at most `connections` open and a total timeout per request. The
    connector is made inside the lifespan: aiohttp binds it to the running loop."""

    import aiohttp

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with aiohttp.ClientSession(UPSTREAM_URL, connector=connector, timeout=timeout) as session:
            app.state.session = session
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
