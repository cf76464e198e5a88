"""Fix: cache the dependency's result: the file is read once per worker process."""

from functools import lru_cache
from typing import Annotated

from fastapi import Depends

from apps.common import make_app
from apps.uncached_dependency.config import Settings, load_settings

app = make_app("uncached-dependency: fix_lru_cache")


@lru_cache
def get_settings() -> Settings:
    return load_settings()  # once; later calls return the same object


@app.get("/flags/{name}")
async def flag(name: str, settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, object]:
    found = settings.flags.get(name)
    return {"name": name, "enabled": bool(found and found.enabled), "service": settings.service}
