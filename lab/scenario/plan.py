"""Expand a scenario into cells: one variant x one server setting x one repeat.

The runner only knows how to run one cell; matrices and repeats are just longer plans.
Cells of one repeat run interleaved (bad, fix, bad, fix, ...) so machine drift hits all alike.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

from lab.scenario.models import (
    LOAD_MATRIX_KEY,
    Generators,
    LoadProfile,
    ProxySettings,
    Scenario,
    ServerSettings,
    apply_setting,
)


@dataclass(frozen=True)
class Cell:
    id: str
    variant: str
    app: str
    setting: dict[str, Any]
    server: ServerSettings
    load: LoadProfile
    repeat: int
    root: str = ""  # the folder the app is imported from (scenario.variant_roots); empty: the project root
    proxy: ProxySettings | None = None  # nginx in front of the app (scenario.proxy, variant_proxy)

    @property
    def setting_label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.setting.items())

    @property
    def group(self) -> str:
        """What repeats of the same measurement share: the variant, at one matrix point."""
        return f"{self.variant}[{self.setting_label}]" if self.setting else self.variant


def settings(matrix: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(matrix)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*matrix.values())]


def expand(
    scenario: Scenario,
    profile: str,
    repeats: int | None = None,
    versions: list[str] | None = None,
    null: str | None = None,
    generators: Generators | None = None,
    shuffle: int | None = None,
) -> list[Cell]:
    """`versions` (dependency sets, e.g. from the command line) replace the matrix's `deps`.
    `null`: every variant runs this variant's app (an A/A run: no claim may tell them apart).
    `generators` (from the command line) replaces the profile's Locust processes, and the matrix's.
    `shuffle`: a seed; each repeat (and matrix point) runs its variants in an order drawn from it."""
    load = scenario.profile(profile)
    if repeats is not None:
        load = load.model_copy(update={"repeats": repeats})
    cells = []
    for repeat in range(1, load.repeats + 1):
        matrix = {**scenario.matrix, **load.matrix, **({"deps": versions} if versions else {})}
        for setting in settings(matrix):
            server = apply_setting(scenario.server, setting)
            at = load.model_copy(update={"generators": generators or setting.get(LOAD_MATRIX_KEY, load.generators)})
            order = list(scenario.variants)
            if shuffle is not None:
                random.Random(f"{shuffle}-{repeat}-{setting}").shuffle(order)
            for variant in order:
                if load.variants and variant not in load.variants:
                    continue
                # Null mode runs one variant in every variant's place: its app, its flags, its proxy.
                runs_as = null or variant
                app, served = scenario.variants[runs_as], scenario.served(runs_as, server)
                root = scenario.variant_roots.get(runs_as, "")
                label = "-".join(_label(k, v) for k, v in setting.items())
                cell_id = "-".join(filter(None, [f"r{repeat}", variant, label]))
                proxy = scenario.proxied(runs_as)
                cells.append(Cell(cell_id, variant, app, setting, served, at, repeat, root, proxy))
    return cells


def _label(key: str, value: Any) -> str:
    # `loop+http=asyncio+h11` reads as `asyncio-h11`; `env.ITEMS=1000` as `ITEMS1000`.
    return _slug(value) if "+" in key else f"{key.removeprefix('env.')}{_slug(value)}"


def _slug(value: Any) -> str:
    """A matrix value as it can appear in a folder name (`fastapi==0.129.*` -> `fastapi-0.129.x`)."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(value).replace("*", "x")).strip("-")
