"""docs/scenario-reference.md: every key a scenario file takes, generated from the models
(`python -m lab schema`), with each field's type, default and the comment beside it in
lab/scenario/models.py, so the reference cannot drift from what validation accepts."""

from __future__ import annotations

import inspect
import re
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from lab.scenario import models

# Each table of a scenario file, in the order a reader meets them, with where it sits in the file.
TABLES: list[tuple[str, type[BaseModel]]] = [
    ("top level", models.Scenario),
    ("[server]", models.ServerSettings),
    ("[profiles.NAME] (and [load], what every profile shares)", models.LoadProfile),
    ("[profiles.NAME.search]", models.Search),
    ("[slo]", models.Slo),
    ("[queue]", models.QueueModel),
    ("[[verify]]", models.Check),
    ("[[claims]]", models.Claim),
    ("[database]", models.Database),
    ("[database.seed]", models.SeedSize),
    ("[upstream]", models.UpstreamConfig),
    ("[[upstream.faults]]", models.Fault),
    ("[[app_probes]]", models.AppProbe),
    ("[[references]]", models.Reference),
    ("[pinning]", models.Pinning),
    ("[ci]", models.CiSettings),
    ("[catalogue]", models.CatalogueRow),
]
SET_BY_THE_LAB = {"name", "path", "sha256"}  # filled in from the file itself, never written in it


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment on a field's line, or on the lines just above it, in the model's source
    (inherited fields included)."""
    out: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls.__module__ != models.__name__:
            continue
        above: list[str] = []
        for line in inspect.getsource(cls).splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                above.append(stripped.lstrip("# "))
                continue
            found = re.match(r"\s{4}(\w+): [^#]*?(?:#\s*(.*))?$", line)
            if found and found.group(1) in cls.model_fields:
                out[found.group(1)] = " ".join([*above, found.group(2) or ""]).strip()
            above = []
    return out


def _type(annotation: object) -> str:
    """A field's type as a reader writes it in TOML terms: constraints dropped, unions with `or`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type(args[0])
    if origin in (Union, UnionType):
        return " or ".join(_type(a) for a in args)
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type(a) for a in args)}]"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _default(field: object) -> str:
    default = getattr(field, "default", PydanticUndefined)
    if default is PydanticUndefined:
        return "required"
    if isinstance(default, BaseModel):
        return "its table's defaults"
    return f"`{default!r}`" if default not in ({}, [], None) else "none"


def markdown() -> str:
    lines = [
        "# Scenario reference",
        "",
        "Every key a scenario file takes, generated from `lab/scenario/models.py` by `python -m lab schema`",
        "(do not edit by hand). A scenario file is read over `lab/scenario/defaults.toml`: tables merge key by key,",
        "and `[load]` holds what every profile shares. An unknown key is an error that names it.",
    ]
    for where, model in TABLES:
        comments = _comments(model)
        doc = (model.__doc__ or "").strip().replace("\n", " ")
        lines += ["", f"## {where}", "", *([re.sub(r"\s+", " ", doc), ""] if doc else [])]
        lines += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            if model is models.Scenario and name in SET_BY_THE_LAB:
                continue
            meaning = comments.get(name, "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type(field.annotation)} | {_default(field)} | {meaning} |")
    return "\n".join(lines) + "\n"
