"""Settings as an app would load them: a TOML file, validated into Pydantic models."""

import tomllib
from pathlib import Path

from pydantic import BaseModel

SETTINGS_FILE = Path(__file__).with_name("settings.toml")


class Flag(BaseModel):
    enabled: bool
    rollout: int
    owners: list[str]
    description: str


class Settings(BaseModel):
    service: str
    region: str
    debug: bool
    flags: dict[str, Flag]


def load_settings() -> Settings:
    return Settings.model_validate(tomllib.loads(SETTINGS_FILE.read_text()))
