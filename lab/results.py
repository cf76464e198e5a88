"""Run records: `results/<scenario>/<run_id>/run.json` and the raw files beside it.

run.json is the only thing claims, reports and CI read; it is always written atomically, and a
run that did not finish says so (`incomplete` or `failed`). Format: results/README.md.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lab.errors import LabError
from lab.paths import RESULTS, shown

SCHEMA_VERSION = 1
SAMPLE_COLUMNS = ["ts", "cell", "metric", "value"]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")[:-4] + "Z"  # sortable, centisecond


def run_dir(scenario: str, run_id: str, root: Path = RESULTS) -> Path:
    return root / scenario / run_id


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def write_record(directory: Path, record: dict[str, Any]) -> None:
    write_json(directory / "run.json", record)


def load_record(directory: Path) -> dict[str, Any]:
    path = directory / "run.json"
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabError(f"no run record at {shown(path)}") from None
    except ValueError as exc:
        raise LabError(f"{shown(path)} is not valid JSON: {exc}") from None
    return record


def runs(scenario: str, root: Path = RESULTS) -> list[Path]:
    """Run folders of a scenario, oldest first (run ids sort by time)."""
    folder = root / scenario
    return sorted(p for p in folder.iterdir() if (p / "run.json").is_file()) if folder.is_dir() else []


def latest(scenario: str, root: Path = RESULTS, status: str = "complete") -> Path | None:
    for path in reversed(runs(scenario, root)):
        if load_record(path).get("status") == status:
            return path
    return None


def append_samples(directory: Path, rows: list[tuple[float, str, str, float]]) -> None:
    path = directory / "samples.csv"
    frame = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)


def read_samples(directory: Path) -> pd.DataFrame:
    path = directory / "samples.csv"
    if not path.exists():
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    return pd.read_csv(path)
