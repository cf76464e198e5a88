"""Where runs live and how their record is written and read: `results/<scenario>/<run_id>/run.json`,
with `samples.csv` and each cell's raw files beside it.

run.json is the only thing claims, reports and CI read; it is always written atomically, and a
run that did not finish says so (`incomplete` or `failed`). Format: results/README.md and
results/run.schema.json.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from lab.errors import LabError
from lab.paths import RESULTS, shown, write_atomic
from lab.record.models import CellRecord, CellStatus, Environment, Pinning, RunRecord, ScenarioFile, Status
from lab.scenario.loading import describe
from lab.scenario.models import Scenario
from lab.scenario.plan import Cell


# -- reading and writing ---------------------------------------------------------------------------
def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write(directory: Path, record: RunRecord) -> None:
    """Atomically (temp file + rename): run.json is valid JSON at every moment."""
    write_atomic(directory / "run.json", record.model_dump_json(indent=2, by_alias=True) + "\n")


def load(directory: Path) -> RunRecord:
    path = directory / "run.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabError(f"no run record at {shown(path)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabError(f"{shown(path)}: cannot read: {exc}") from None
    try:
        return RunRecord.model_validate_json(text)
    except ValidationError as exc:
        raise LabError(f"{shown(path)}: not a valid run record: {describe(exc)}") from None


def json_schema() -> dict[str, Any]:
    schema = RunRecord.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = "run.schema.json"
    schema["title"] = "FastAPI perf lab run record"
    return schema


# -- building a record -----------------------------------------------------------------------------
def new_run(
    scenario: Scenario,
    profile: str,
    run_id: str,
    pinning: Pinning,
    environment: Environment,
    versions: list[str] | None = None,
) -> RunRecord:
    """The record of a run that has just started (`incomplete` until it ends)."""
    load = scenario.profile(profile)
    return RunRecord(
        scenario=scenario.name,
        title=scenario.title,
        pitfall=scenario.pitfall,
        claim_text=scenario.claim,
        run_id=run_id,
        profile=profile,
        started_at=now(),
        scenario_file=ScenarioFile(path=scenario.path, sha256=scenario.sha256),
        locustfile=scenario.locustfile,
        load=load,
        matrix={**scenario.matrix, **load.matrix, **({"deps": versions} if versions else {})},
        references=scenario.references,
        slo=scenario.slo,
        queue=scenario.queue,
        pinning=pinning,
        environment=environment,
    )


def new_cell(cell: Cell, status: CellStatus = "ok", **measured: Any) -> CellRecord:
    """The record of one cell: what it was (from the plan) and what it measured."""
    return CellRecord(
        id=cell.id,
        variant=cell.variant,
        app=cell.app,
        group=cell.group,
        setting=cell.setting_label,
        setting_values=cell.setting,
        repeat=cell.repeat,
        server=cell.server,
        proxy=cell.proxy,
        load=cell.load,
        status=status,
        **measured,
    )


# -- where runs live ------------------------------------------------------------------------------
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
            rec = load(path)
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
