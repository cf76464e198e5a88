"""The run record (`run.json`) as typed models, from the cells to the claims.

Everything after a run (claims, tables, reports, compare, CI) reads these models, never raw
dicts. Names of metrics come from `lab.metrics`; a summary holds traffic numbers per request name
and segment, and the cell-level metrics in `metrics`, keyed by registry name. Reading and writing:
lab/record/store.py. Its JSON Schema is published as `results/run.schema.json` (`python -m lab schema`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lab import metrics
from lab.scenario.models import Claim, LoadProfile, ProxySettings, QueueModel, Reference, ServerSettings, Slo

SCHEMA_VERSION = 3


ALL = "all"  # the request name that stands for every request of a cell


Status = Literal["complete", "incomplete", "failed"]


CellStatus = Literal["ok", "failed"]


Verdict = Literal["pass", "fail", "inconclusive"]


# Why a cell's numbers are not the server's alone; decided once per cell (lab/analysis/cell.py: decide_flags).
Flag = Literal[
    "no_requests",
    "few_requests",
    "generator_bound",
    "unpinned",
    "noisy_neighbour",
    "not_steady",
    "coordinated_omission",
    "generators_share_cores",
    "coarse_timing",
]


# Flags under which a cell's numbers describe the lab, not the server: claims on them never pass or fail.
UNTRUSTED: frozenset[Flag] = frozenset({"generator_bound", "no_requests", "unpinned"})


class Model(BaseModel):
    # An arrival percentile that falls among arrivals never answered OK is infinite, and so is a
    # ratio with it on top: written as JSON's common extension `Infinity`, never as null.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


def _check_metric_names(values: dict[str, Any], scope: str) -> dict[str, Any]:
    for name in values:
        known = metrics.get(name)
        if known is None or known.scope != scope:
            raise ValueError(f"{name!r} is not a {scope}-level metric of the registry (lab/metrics.py)")
    return values


class Traffic(Model):
    """Counts, rate and latency of the requests of one slice (a request name, a segment, a variant)."""

    requests: int
    failures: int
    error_rate: float | None
    rps: float | None  # goodput: successful requests per second
    latency_ms: dict[str, float | None]  # of successful requests
    # Over every arrival: a failed, dropped or unsent one counts as never answered (infinite). The
    # SLO and tail claims read these.
    arrival_latency_ms: dict[str, float | None] = {}
    attempted_rps: float | None = None  # every completed request, failures included
    failed_latency_ms: dict[str, float | None] = {}  # of failed requests, apart
    # Open model: latency_ms runs from each request's scheduled time; these run from its actual send.
    offered_rps: float | None = None  # arrivals scheduled per second
    service_ms: dict[str, float | None] = {}  # successful requests, from the actual send
    send_lag_ms: dict[str, float | None] = {}  # how late the generator sent (slot waits aside)
    slot_wait_ms: dict[str, float | None] = {}  # time spent waiting for a free in-flight slot
    # Share of requests answered with each HTTP status the claims name (`status_413_share`): a refusal
    # counted by its own status, not as any failure.
    status_share: dict[str, float] = {}

    @field_validator("latency_ms")
    @classmethod
    def _latency_names(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        unknown = set(value) - set(metrics.LATENCY)
        if unknown:
            raise ValueError(f"unknown latency keys {sorted(unknown)}; one of {', '.join(metrics.LATENCY)}")
        return value

    def value(self, metric: str) -> float | None:
        known = metrics.get(metric)
        if known is None or known.scope != "request":
            raise KeyError(f"{metric!r} is not a traffic metric")
        if known.at:
            field, key = known.at
            found = getattr(self, field).get(key)
        else:
            found = getattr(self, metric)
        return None if found is None else float(found)


class CellSummary(Traffic):
    """What one cell measured inside its window: traffic, per request name and segment, and cell metrics."""

    window_s: float
    by_request: dict[str, Traffic]
    segments: dict[str, list[Traffic]]
    metrics: dict[str, float | None] = {}
    metric_segments: dict[str, list[float | None]] = {}  # counters and their per-request rates, per third
    flags: list[Flag] = []
    sampler_errors: list[str] = []
    model: Literal["closed", "open"] = "closed"
    target_rps: float | None = None  # open model: the arrival rate asked for
    in_flight_mean: float | None = None  # open model: sampled at the generator every 50 ms
    little_ratio: float | None = None  # in_flight_mean / (arrival rate x mean latency); 1 when steady
    little_tolerance: float | None = None  # how far from 1 it may be (sampling noise included)
    # Closed model with paced users: the share of requests that outlasted one pacing interval, each
    # delaying its user's next send (coordinated omission: latency from then on is a lower bound).
    late_share: float | None = None
    meets_slo: bool | None = None  # a step of a sweep: whether it met the scenario's SLO
    # How: `meets`/`misses` when decided (a binomial bound on its arrivals, lab/analysis/decision.py),
    # `undecided` when its bound still straddled the SLO at its longest window, `untrusted` when flagged.
    slo_decision: Literal["meets", "misses", "undecided", "untrusted"] | None = None
    slo_misses: list[str] = []
    predicted_ms: dict[str, float | None] = {}  # the queue model's latency at this step's arrivals
    queue_load: float | None = None  # the queue model's utilisation (rho): offered work per server
    queue_round_trip_ms: float | None = None  # the round trip outside the server the model took out
    tag: str = ""  # a step run for a claim at a fraction of a capacity: "0.8 x capacity of bad"

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        return _check_metric_names(value, "cell")

    def set_metric(self, name: str, value: float | None) -> None:
        """A cell-level metric made after the summary (a sweep's capacity, the queue model's ratios):
        checked against the registry like those the summary was built with."""
        _check_metric_names({name: value}, "cell")
        self.metrics[name] = value

    def part(self, request: str = ALL) -> Traffic | None:
        return self if request == ALL else self.by_request.get(request)

    def value(self, metric: str, request: str = ALL) -> float | None:
        """One number of the cell: a traffic metric of a request name, or a cell-level metric."""
        if metric in metrics.TRAFFIC:
            part = self.part(request)
            return None if part is None else Traffic.value(part, metric)
        found = self.metrics.get(metric)
        return None if found is None else float(found)

    def segment_values(self, metric: str, request: str = ALL) -> list[float | None]:
        if metric not in metrics.TRAFFIC:
            return list(self.metric_segments.get(metric, []))
        return [seg.value(metric) for seg in self.segments.get(request, [])]


class ServerExit(Model):
    """How the server under test ended: its exit code, and whether SIGTERM was not enough."""

    code: int | None
    killed: bool
    grace_s: float


class Restart(Model):
    """A restart the scenario asked for during the load: when, how it stopped, how long it was down."""

    at_s: float  # from the load's start
    grace_s: float  # SIGTERM, then SIGKILL this much later
    code: int | None
    killed: bool  # SIGKILL was needed
    down_s: float  # from the old server gone to the new one answering /health


class Affinity(Model):
    """The cores each side was actually running on (read back from the processes), and whether
    that is what the lab asked for."""

    server: list[int] | None
    generator: list[int] | None
    as_requested: bool
    generator_processes: int = 1  # Locust processes (a master's workers when more than one)
    # Where the master listened for workers on other hosts (`lab worker`); their CPU is not sampled.
    remote_master: str | None = None


class CellRecord(Model):
    id: str
    variant: str
    app: str
    group: str
    setting: str
    setting_values: dict[str, Any] = {}
    repeat: int
    server: ServerSettings
    proxy: ProxySettings | None = None  # nginx in front of the app, as it ran (none: the load went to the app)
    # nginx's first error-log lines about the app (at most 3, each kind once): the proxy_* metrics' evidence
    proxy_log: list[str] = []
    load: LoadProfile
    status: CellStatus
    error: str | None = None
    port: int | None = None
    startup_s: float | None = None
    wall_s: float | None = None
    answers: dict[str, Any] = {}
    versions: dict[str, str] | None = None
    affinity: Affinity | None = None
    server_exit: ServerExit | None = None
    restarts: list[Restart] = []  # the scenario's restarts during the load (server.restart_at_s)
    summary: CellSummary | None = None
    # Open-model sweep: every step (one rate each, on the same server process), in the order run.
    points: list[CellSummary] = []
    capacity_bound: Literal["exact", "at_least", "below"] | None = None

    def at(self, rate: float | None = None, tag: str | None = None) -> CellSummary | None:
        """The cell's summary, or its step at an offered rate, or its step with a tag."""
        if tag is not None:
            return next((p for p in self.points if p.tag == tag), None)
        if rate is None:
            return self.summary
        return next((p for p in self.points if p.target_rps == rate and not p.tag), None)


class VariantSummary(Traffic):
    """One variant at one matrix point: medians over its repeats (lab/analysis/cell.py: aggregate)."""

    variant: str
    app: str
    setting: str
    server: ServerSettings
    load: LoadProfile
    repeats: int
    by_request: dict[str, Traffic]
    metrics: dict[str, float | None] = {}
    flags: list[Flag] = []

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        return _check_metric_names(value, "cell")

    def value(self, metric: str, request: str = ALL) -> float | None:
        if metric in metrics.TRAFFIC:
            part = self if request == ALL else self.by_request.get(request)
            return None if part is None else Traffic.value(part, metric)
        found = self.metrics.get(metric)
        return None if found is None else float(found)


class ClaimResult(Claim):
    """A claim as declared, with the matrix point it was judged at and what was measured."""

    # Records before schema 3 only: a hand-declared guard. The audit now derives it from null runs.
    guard: bool = False
    setting: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    samples: int = 0
    repeats: int = 0
    method: str = ""
    confidence: float = 0.95  # of the interval (a sequential run's looks each use a stricter one)
    verdict: Verdict = "inconclusive"
    reason: str = ""
    # Set when a side's value is itself a bound (a capacity past the sweep's top, a generator-bound
    # throughput, a closed-loop latency under coordinated omission): the claim's value is then one too.
    bound: Literal["at_least", "at_most"] | None = None

    @property
    def shown(self) -> str:
        """The value as every page prints it: its bound's mark, 3 digits, `x` for a ratio (`>=25.6x`)."""
        mark = {"at_least": ">=", "at_most": "<="}.get(self.bound or "", "")
        return f"{mark}{self.value:.3g}{'x' if self.baseline else ''}"

    @property
    def confidence_label(self) -> str:
        return f"{self.confidence:.0%}" if round(self.confidence * 100, 6).is_integer() else f"{self.confidence:.2%}"

    @property
    def spread(self) -> str:
        """The interval as pages print it: `20.1-48.7`, or `>=20.1` when it has no upper end."""
        if self.low is None:
            return ""
        return f"{self.low:.3g}-{self.high:.3g}" if self.high is not None else f">={self.low:.3g}"

    def describe(self) -> str:
        """`p99 of /work bad / fix_await = 41.2x (95% interval 35.0-47.9, 3 repeats), needs >= 10x`"""
        elsewhere = ",".join(f"{k}={v}" for k, v in self.baseline_at.items())
        baseline = f"{self.baseline} [{elsewhere}]" if elsewhere else self.baseline
        subject = f"{self.variant} / {baseline}" if self.baseline else self.variant
        request = "" if self.request == ALL else f" of {self.request}"
        if self.value is None:
            return f"{self.metric}{request} {subject}: not measurable ({self.reason})"
        spread = (
            f"{self.confidence_label} interval {self.spread}, {self.repeats} repeats"
            if self.method and self.low is not None
            else f"range {self.spread} over {self.samples} samples"  # a schema-1 record
            if self.low is not None
            else f"no interval: {self.repeats} repeat"
        )
        return f"{self.metric}{request} {subject} = {self.shown} ({spread}), needs {self.needs}"


class MachineState(Model):
    """What makes numbers comparable across machines, read at the start of a run."""

    governor: str | None
    frequency_mhz: dict[int, float] | None
    boost: bool | None
    smt_siblings: dict[int, list[int]]
    isolated: list[int]
    load_average: list[float]
    busy_processes: list[str]
    busy: bool


class Environment(Model):
    """The machine and software a run measured on."""

    python: str
    packages: dict[str, str | None]
    cpu_count: int | None
    cpus_available: int
    cpu_model: str
    kernel: str
    git_sha: str | None
    git_dirty: bool | None
    postgres: str | None = None
    machine: MachineState | None = None

    def version(self, package: str) -> str | None:
        return (
            self.python
            if package == "python"
            else self.postgres
            if package == "postgres"
            else self.packages.get(package)
        )


class ScenarioFile(Model):
    path: str
    sha256: str


class Pinning(Model):
    server_cores: list[int]
    generator_cores: list[int]
    pinned: bool


class DatabaseInfo(Model):
    mode: Literal["embedded", "external", "target"]
    server_version: str
    max_connections: int
    seed: dict[str, int]
    rows: dict[str, int]
    cores: list[int] | None


class UpstreamInfo(Model):
    mode: dict[str, Any]
    faults: list[dict[str, Any]]
    cores: list[int]


class Sequential(Model):
    """A run that stopped adding repeats once its claims were decided (lab/analysis/sequential.py)."""

    min_repeats: int
    max_repeats: int
    confidence: float  # of each look's interval: 1 - 0.05 / looks
    repeats_run: int = 0
    stopped_early: bool = False
    saved_s: float = 0.0  # wall time of the repeats not run, estimated from the measured cells
    undecided: list[str] = []  # claims still undecided when the run stopped


class RunRecord(Model):
    schema_version: int = Field(SCHEMA_VERSION, alias="schema")
    # The schema the record was written in, when older than today's and upgraded on reading: its
    # claims keep the intervals judged then (before schema 3, a bootstrap of the median of repeats).
    upgraded_from: int | None = None
    scenario: str
    title: str
    pitfall: str
    claim_text: str
    run_id: str
    profile: str
    null_mode: bool = False
    # `--target`: the URL of a server started elsewhere that the run loaded (server-side samples absent).
    target: str | None = None  # every variant ran the reference variant's app (lab run --null)
    reference: str | None = None  # the variant whose app null mode runs
    status: Status = "incomplete"
    error: str | None = None
    started_at: str
    finished_at: str | None = None
    wall_s: float | None = None
    scenario_file: ScenarioFile
    locustfile: str
    load: LoadProfile
    matrix: dict[str, list[Any]] = {}
    references: list[Reference] = []
    slo: Slo | None = None
    queue: QueueModel | None = None
    pinning: Pinning
    environment: Environment
    database: DatabaseInfo | None = None
    upstream: UpstreamInfo | None = None
    cells: list[CellRecord] = []
    variants: dict[str, VariantSummary] = {}
    claims: list[ClaimResult] = []
    sequential: Sequential | None = None  # set when the run used the sequential rule (CI)
    # The checkout a variant's app was imported from, where not the project root (`lab ci --base`:
    # the base's variants from `.lab-worktrees/<commit>`).
    variant_roots: dict[str, str] = {}
    # Set when the claims were judged again after the run (`lab rejudge`): the lab commit that did it.
    rejudged_by: str | None = None
    left_behind_pids: list[int] = []

    model_config = ConfigDict(extra="forbid", populate_by_name=True, ser_json_inf_nan="constants")

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("schema") == 1:
            data = upgrade_v1(data)
        if isinstance(data, dict) and data.get("schema") == 2:
            data = upgrade_v2(data)
        return data

    def ok_cells(self) -> list[CellRecord]:
        return [c for c in self.cells if c.status == "ok" and c.summary is not None]

    def has_source(self, source: str) -> bool:
        """Whether any variant measured a metric of this source (database, upstream, app)."""
        return any(
            (m := metrics.get(name)) is not None and m.source == source
            for v in self.variants.values()
            for name, value in v.metrics.items()
            if value is not None
        )


# -- schema 1 (the lab before the typed record): flat summaries and environment -----------------
_TRAFFIC_KEYS = {
    "requests",
    "failures",
    "error_rate",
    "rps",
    "latency_ms",
    "window_s",
    "by_request",
    "segments",
    "flags",
    "sampler_errors",
}


_VARIANT_KEYS = {"variant", "app", "setting", "server", "load", "repeats", *_TRAFFIC_KEYS}


_ENV_KEYS = {"python", "cpu_count", "cpus_available", "cpu_model", "kernel", "git_sha", "git_dirty", "postgres"}


def _split(data: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k in keep}
    out["metrics"] = {k: v for k, v in data.items() if k not in keep}
    return out


def upgrade_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-2 record: its claims' `segments` key is gone (the thirds of a window no longer count as
    samples); their intervals stay as they were judged then (a bootstrap of the median)."""
    claims = [{k: v for k, v in c.items() if k != "segments"} for c in data.get("claims", [])]
    return {**data, "schema": SCHEMA_VERSION, "upgraded_from": data.get("upgraded_from", 2), "claims": claims}


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 record in today's shape: cell metrics move under `metrics`, package versions under
    `environment.packages`."""
    data = {**data, "schema": 2, "upgraded_from": 1}
    env = data["environment"]
    data["environment"] = {k: v for k, v in env.items() if k in _ENV_KEYS} | {
        "packages": {k: v for k, v in env.items() if k not in _ENV_KEYS}
    }
    data["cells"] = [
        {**c, "summary": _split(c["summary"], _TRAFFIC_KEYS)} if c.get("summary") else c for c in data["cells"]
    ]
    data["variants"] = {k: _split(v, _VARIANT_KEYS) for k, v in data.get("variants", {}).items()}
    return data
