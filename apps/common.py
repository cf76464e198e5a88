"""What every variant of every pitfall shares, kept out of the slides.

Each variant is still a complete app: `make_app` returns a FastAPI instance with the
lab's readiness route (`/health`) and the lifespan the variant passes in.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

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
