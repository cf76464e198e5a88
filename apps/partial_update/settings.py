"""What both variants share: the settings model, its partial update, and the in-memory store the
PATCH route updates (one entry per user)."""

from pydantic import BaseModel


class Settings(BaseModel):
    theme: str = "light"
    language: str = "en"
    newsletter: bool = False


class SettingsPatch(BaseModel):
    """A partial update: every field optional, so a client sends only what it changes."""

    theme: str | None = None
    language: str | None = None
    newsletter: bool | None = None


STORE: dict[int, Settings] = {}


def current(user_id: int) -> Settings:
    """A user's settings as stored (the defaults until the first update)."""
    return STORE.get(user_id, Settings())
