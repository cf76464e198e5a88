"""Scenario files: TOML over the harness's defaults (`lab/scenario/defaults.toml`), merged, then
validated as a Scenario."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lab.errors import LabError
from lab.paths import BASE_SCENARIO, scenarios, shown
from lab.scenario.models import Scenario


def known() -> list[str]:
    return sorted(p.stem for p in scenarios().glob("*.toml") if not p.stem.startswith("_"))


def resolve(name_or_path: str) -> Path:
    """A scenario name (`loop-blocking`) or a path to a .toml file."""
    if name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        if not path.is_file():
            raise LabError(f"no scenario file at {name_or_path}")
        return path
    path = scenarios() / f"{name_or_path}.toml"
    if name_or_path.startswith("_") or not path.is_file():
        raise LabError(f"unknown scenario {name_or_path!r}; known: {', '.join(known()) or '(none)'}")
    return path


def load(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    raw = path.read_bytes()
    data = combine(_read_toml(BASE_SCENARIO), _read_toml(path))
    data.update(name=path.stem, path=shown(path), sha256=hashlib.sha256(raw).hexdigest())
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise LabError(f"{shown(path)}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """Pydantic's errors as one line: `field.path: what is wrong (got value)`."""
    parts = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        got = "" if err["type"] in ("missing", "value_error") else f" (got {err.get('input')!r})"
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"field {where!r}: {msg}{got}" if where else msg)
    return "; ".join(parts)


def combine(base: dict[str, Any], scenario: dict[str, Any]) -> dict[str, Any]:
    """A scenario file over the base file: tables merge key by key, `[[verify]]` lists merge (a
    check of the same path replaces the base's), and `[load]` holds what every profile shares."""
    data = merge(base, scenario)
    # The defaults check the catalogue's readiness route, /health; a scenario whose app is ready at
    # another route (`server.health`, a service's own) does not inherit that check.
    server = data.get("server")
    health = server.get("health", "/health") if isinstance(server, dict) else "/health"
    defaults = [
        c for c in base.get("verify", []) if isinstance(c, dict) and (c.get("path") != "/health" or health == "/health")
    ]
    checks = {c.get("path"): c for c in [*defaults, *scenario.get("verify", [])] if isinstance(c, dict)}
    data["verify"] = list(checks.values())
    shared = data.pop("load", {})
    if not isinstance(shared, dict):
        raise LabError("[load] must be a table of settings every profile shares (users, spawn_rate, options)")
    profiles = data.get("profiles", {})
    if isinstance(profiles, dict):
        data["profiles"] = {k: merge(shared, v) if isinstance(v, dict) else v for k, v in profiles.items()}
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else in `override` replaces the base value."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{shown(path)}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise LabError(
            f"{shown(path)}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise LabError(f"{shown(path)}: cannot read: {exc.strerror}") from None
