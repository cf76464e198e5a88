"""Run records: `results/<scenario>/<run_id>/run.json` and the raw files beside it.

run.json (lab/record.py) is the only thing claims, reports and CI read; it is always written
atomically, and a run that did not finish says so (`incomplete` or `failed`). Format:
results/README.md and results/run.schema.json.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from lab import record
from lab.errors import LabError
from lab.paths import RESULTS
from lab.record import Status

SAMPLE_COLUMNS = ["ts", "cell", "metric", "value"]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")[:-4] + "Z"  # sortable, centisecond


def run_dir(scenario: str, run_id: str, root: Path = RESULTS) -> Path:
    return root / scenario / run_id


def runs(scenario: str, root: Path = RESULTS) -> list[Path]:
    """Run folders of a scenario, oldest first (run ids sort by time)."""
    folder = root / scenario
    return sorted(p for p in folder.iterdir() if (p / "run.json").is_file()) if folder.is_dir() else []


def latest(scenario: str, root: Path = RESULTS, status: Status = "complete", null_mode: bool = False) -> Path | None:
    """The newest run with that status; a record that no longer validates is passed over. Null-mode
    runs (an audit of the claims: every variant the same code) only when asked for: a report, slides
    or a gate built from one would present an A/A run as the pitfall's measurement."""
    for path in reversed(runs(scenario, root)):
        try:
            rec = record.load(path)
            if rec.status == status and rec.null_mode == null_mode:
                return path
        except LabError:
            continue
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
