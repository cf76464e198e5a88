"""What every variant shares: the user row the profile route reads (from PostgreSQL: a real await)
and the in-memory settings store the PATCH route updates (one entry per user)."""

from pydantic import BaseModel

USER = "SELECT id, name, email FROM users WHERE id = $1"


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
