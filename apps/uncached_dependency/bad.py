"""Bad: the settings dependency reads and validates the file again for every request."""

from typing import Annotated

from fastapi import Depends

from apps.common import make_app
from apps.uncached_dependency.config import Settings, load_settings

app = make_app("uncached-dependency: bad")


def get_settings() -> Settings:
    return load_settings()  # file read + TOML parse + validation, per request


@app.get("/flags/{name}")
async def flag(name: str, settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, object]:
    found = settings.flags.get(name)
    return {"name": name, "enabled": bool(found and found.enabled), "service": settings.service}
