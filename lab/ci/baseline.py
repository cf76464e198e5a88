"""Baselines: a compact, committable summary of one complete run, for CI to gate later runs against.

`results/baselines/<scenario>.json` holds each claim with its value, interval and verdict, each
variant's headline figures and capacity, and what shaped the run (profile, versions, machine), so
a later run can say plainly when it is not like for like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lab.analysis.capacity import capacities
from lab.errors import LabError
from lab.paths import RESULTS, shown, write_atomic
from lab.record.models import RunRecord, Verdict

BASELINES = RESULTS / "baselines"
SCHEMA = 1
VERSIONS = ("python", "fastapi", "starlette", "pydantic", "uvicorn", "locust", "postgres")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BaselineClaim(Model):
    text: str
    setting: str
    metric: str
    variant: str
    baseline: str | None
    op: Literal[">=", "<=", "between"]
    threshold: float
    value: float | None
    low: float | None
    high: float | None
    verdict: Verdict
    guard: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.text, self.setting


class BaselineVariant(Model):
    group: str
    rps: float | None
    p50: float | None
    p99: float | None
    capacity: float | None = None
    capacity_low: float | None = None  # the lowest and highest capacity over repeats
    capacity_high: float | None = None
    capacity_bound: str | None = None


class Baseline(Model):
    schema_version: int = SCHEMA
    scenario: str
    run_id: str
    profile: str
    scenario_sha256: str
    git_sha: str | None
    versions: dict[str, str | None]
    cpu_model: str
    cores: int
    claims: list[BaselineClaim]
    variants: list[BaselineVariant]


def from_run(rec: RunRecord) -> Baseline:
    if rec.status != "complete":
        raise LabError(f"{rec.scenario} run {rec.run_id} is {rec.status}; a baseline needs a complete run")
    found = {c.group: c for c in capacities(rec)}
    variants = []
    for group, v in rec.variants.items():
        cap = found.get(group)
        variants.append(
            BaselineVariant(
                group=group,
                rps=v.value("rps"),
                p50=v.value("p50"),
                p99=v.value("p99"),
                capacity=cap.median if cap else None,
                capacity_low=min(cap.capacities) if cap else None,
                capacity_high=max(cap.capacities) if cap else None,
                capacity_bound=",".join(sorted(set(cap.bounds))) if cap else None,
            )
        )
    return Baseline(
        scenario=rec.scenario,
        run_id=rec.run_id,
        profile=rec.profile,
        scenario_sha256=rec.scenario_file.sha256,
        git_sha=rec.environment.git_sha,
        versions={p: rec.environment.version(p) for p in VERSIONS},
        cpu_model=rec.environment.cpu_model,
        cores=rec.environment.cpus_available,
        claims=[
            BaselineClaim(
                text=c.text,
                setting=c.setting,
                metric=c.metric,
                variant=c.variant,
                baseline=c.baseline,
                op=c.op,
                threshold=c.threshold,
                value=c.value,
                low=c.low,
                high=c.high,
                verdict=c.verdict,
                guard=c.guard,
            )
            for c in rec.claims
        ],
        variants=variants,
    )


def path_for(scenario: str, root: Path = BASELINES) -> Path:
    return root / f"{scenario}.json"


def save(baseline: Baseline, root: Path = BASELINES) -> Path:
    path = path_for(baseline.scenario, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, baseline.model_dump_json(indent=2) + "\n")
    return path


def load(scenario: str, root: Path = BASELINES) -> Baseline:
    path = path_for(scenario, root)
    if not path.is_file():
        raise LabError(
            f"no baseline for {scenario} at {shown(path)}; make one with `make baseline scenario={scenario}`"
        )
    try:
        return Baseline.model_validate_json(path.read_text())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LabError(f"{shown(path)}: not a valid baseline: field {where!r}: {first['msg']}") from None
