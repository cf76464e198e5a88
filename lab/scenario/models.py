"""Scenario models: pure data, validated strictly; every error is one line naming the field.

Nothing in a scenario file is executed; apps are named as `module:attribute` strings and
only ever imported by the server process under test. Loading a file: lab/scenario/loading.py.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lab import metrics
from lab.errors import LabError
from lab.paths import ROOT
from lab.scenario import versions

AppRef = Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")]


LocustOption = str | int | float | bool


def is_bad(variant: str) -> bool:
    """A variant that shows the pitfall: every scenario names those `bad` or `bad_<how>` (a matrix
    point's group, `bad[workers=2]`, keeps the name); the rest are fixes."""
    return variant.startswith("bad")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Generators = int | Literal["auto"]  # Locust processes (LoadProfile.generators)


MAX_GENERATORS = 64


def generators_value(value: Any) -> Generators:
    """A generator count as a scenario file or the command line gives it: 'auto' or 1-64."""
    if value == "auto":
        return "auto"
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= MAX_GENERATORS:
        return number
    raise ValueError(f"{value!r}: 'auto' or a whole number of Locust processes, 1-{MAX_GENERATORS}")


class ServerSettings(Strict):
    """How the app under test is served. A matrix varies any of these fields."""

    # The server: uvicorn, gunicorn with uvicorn-worker, granian (its ASGI interface) or hypercorn.
    kind: Literal["uvicorn", "gunicorn", "granian", "hypercorn"] = "uvicorn"
    workers: int = Field(1, ge=1, le=64)  # server processes
    # What `uvicorn[standard]` and gunicorn's UvicornWorker pick; h11/asyncio stays a setting.
    # granian runs asyncio or uvloop too; hypercorn's worker class is asyncio or uvloop.
    loop: Literal["auto", "asyncio", "uvloop"] = "uvloop"
    # HTTP parser. Left out, each kind's own: httptools for uvicorn and gunicorn, h11 for hypercorn
    # (its only one), hyper for granian (Rust; its only one).
    http: Literal["auto", "h11", "httptools", "hyper"] = "httptools"
    # One line per request in the server's log (kept with the run), at log level info: what each
    # server does when left at its defaults. Off by default here, as in a tuned deployment.
    access_log: bool = False
    runtime_threads: int = Field(1, ge=1, le=64)  # granian only: Rust runtime threads per worker
    # granian only: threads running the app's Python per worker; granian allows 1 on ASGI. FastAPI's
    # `def` routes run on AnyIO's threadpool whatever the server.
    blocking_threads: int = Field(1, ge=1, le=64)
    host: str = "127.0.0.1"  # bind address: loopback only
    flags: list[str] = []  # extra command-line flags of the server
    env: dict[str, str] = {}  # environment of the server process (apps read their settings at import)
    # The readiness route: a GET that answers 200 once the app serves (a service's own health route,
    # or FastAPI's /openapi.json). The defaults' [[verify]] checks /health's body only while it is /health.
    health: str = Field("/health", pattern=r"^/")
    startup_timeout_s: float = Field(15.0, gt=0, le=300)  # launch to a 200 from `health`, or the cell fails
    stop_grace_s: float = Field(5.0, gt=0, le=120)  # SIGTERM, then SIGKILL this much later
    startup_budget_s: float = Field(3.0, gt=0)  # launch to first healthy answer: reported, not enforced
    # A dependency set for the server's own environment (lab/drive/depsets.py); empty: the lab's own.
    deps: str = ""
    # The interpreter that serves the app, absolute or relative to the project root: a service's own
    # environment (`.venv/bin/python`) when the harness is installed apart from it (`uv tool install`).
    # It needs the server kind's package (uvicorn; gunicorn and uvicorn-worker; granian; hypercorn).
    # Empty: the lab's own.
    python: str = ""
    # Stop the server during the load and start it again, as a deploy or the OOM killer would:
    # SIGTERM `restart_at_s` seconds after the load starts, SIGKILL `restart_grace_s` later if it
    # is still running (0: a hard kill at once). What it held only in memory is lost then.
    restart_at_s: float | None = Field(None, gt=0, le=3600)
    restart_grace_s: float = Field(5.0, ge=0, le=120)  # see restart_at_s

    @field_validator("deps")
    @classmethod
    def _deps_parse(cls, deps: str) -> str:
        if deps:
            try:
                versions.parse(deps)
            except LabError as exc:
                raise ValueError(str(exc)) from None
        return deps

    @model_validator(mode="after")
    def _one_environment(self) -> ServerSettings:
        if self.deps and self.python:
            raise ValueError("deps builds the server's environment and python names one: give one of them, not both")
        return self

    @model_validator(mode="after")
    def _kind_runs_it(self) -> ServerSettings:
        own = OWN_PARSER.get(self.kind)
        if own is not None and "http" not in self.model_fields_set:
            # The kind's own parser, recorded as what ran; not marked as set, so a matrix point
            # that changes the kind (apply_setting) does not carry it over.
            self.__dict__["http"] = own
        why = cannot_run(self)
        if why:
            raise ValueError(why)
        return self

    @model_validator(mode="after")
    def _gunicorn_worker_exists(self) -> ServerSettings:
        # uvicorn-worker ships two worker classes; any other combination would be silently ignored.
        if self.kind == "gunicorn" and gunicorn_worker(self) is None:
            raise ValueError(
                f"gunicorn runs loop/http as uvloop+httptools (UvicornWorker) or asyncio+h11 "
                f"(UvicornH11Worker), not {self.loop}+{self.http}"
            )
        return self

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, host: str) -> str:
        # Load goes only to this machine: the server is bound, and load sent, to loopback.
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"{host!r} is not a loopback address; use 127.0.0.1 (load goes only to loopback)")
        return host


class ProxySettings(Strict):
    """nginx in front of the app (Debian's package), on loopback: the load goes to it, it to the app."""

    workers: int = Field(1, ge=1, le=16)  # nginx worker processes
    # Idle connections to the app each nginx worker keeps for reuse (0: a new connection per request,
    # nginx's own default; production configurations usually turn reuse on).
    keepalive: int = Field(32, ge=0, le=4096)
    # How long nginx keeps an idle connection to the app (nginx's default: 60 s). Longer than the
    # app's own keep-alive (uvicorn: 5 s), and nginx may send on a connection the app is closing.
    keepalive_timeout_s: float = Field(60.0, gt=0, le=3600)
    keepalive_requests: int = Field(1000, ge=1, le=1_000_000)  # requests per upstream connection at most
    # The largest request body nginx passes on (nginx's default: 1m); larger ones get 413 at nginx.
    client_max_body_size: str = Field("1m", pattern=r"^\d+[kKmMgG]?$")
    read_timeout_s: float = Field(60.0, gt=0, le=3600)  # proxy_read_timeout: waiting for the app's answer
    access_log: bool = False  # one line per request in the cell's nginx-access.log
    # The error log (kept with the cell): "error" holds every upstream failure behind a 502.
    error_log_level: Literal["error", "warn", "notice", "info"] = "error"


class SeedSize(Strict):
    """Rows of the deterministic data set: users, orders per user, items per order."""

    users: int = Field(1000, ge=1, le=1_000_000)  # rows of users
    orders_per_user: int = Field(5, ge=0, le=1000)  # orders of each user
    items_per_order: int = Field(3, ge=0, le=1000)  # items of each order


class Database(Strict):
    """A real PostgreSQL for the run: embedded unless DATABASE_URL names one."""

    max_connections: int = Field(100, ge=10, le=10_000)  # PostgreSQL's max_connections
    seed: SeedSize = SeedSize()  # the deterministic data set loaded before the run


class UpstreamMode(Strict):
    """How the upstream answers: log-normal latency (median, p99), an error rate, or a hang/refusal."""

    latency_ms: float = Field(0.0, ge=0, le=60_000)  # median answer time (log-normal)
    latency_p99_ms: float | None = Field(None, ge=0, le=600_000)  # p99 answer time; none: a fixed latency
    error_rate: float = Field(0.0, ge=0, le=1)  # share of answers that are 500s
    hang: bool = False  # hold every request open until the mode changes
    refuse: bool = False  # close the listener: connections are refused


class Fault(UpstreamMode):
    """A window, in seconds from the load's start, during which the upstream behaves differently."""

    from_s: float = Field(ge=0)  # seconds from the load's start
    until_s: float = Field(gt=0)  # until this many seconds from the load's start

    @model_validator(mode="after")
    def _ordered(self) -> Fault:
        if self.until_s <= self.from_s:
            raise ValueError(f"until_s ({self.until_s:g}) must be after from_s ({self.from_s:g})")
        return self


class UpstreamConfig(UpstreamMode):
    """A downstream service the lab runs on loopback for the apps to call (UPSTREAM_URL)."""

    faults: list[Fault] = []  # windows in which the upstream behaves differently


class Search(Strict):
    """Rates growing geometrically from `start` until one misses the SLO or passes `max`."""

    start: float = Field(gt=0)  # the first rate
    factor: float = Field(2.0, gt=1, le=10)  # each next rate is this times the last
    max: float = Field(gt=0, le=100_000)  # the last rate at most

    def steps(self) -> list[float]:
        out, rate = [], self.start
        while rate <= self.max * (1 + 1e-9):
            out.append(round(rate, 6))
            rate *= self.factor
        return out


class LoadProfile(Strict):
    """One load level. `options` are passed to the locustfile as `--name value`."""

    users: int = Field(ge=1, le=5000)  # closed model: paced users (open model: the Locust users that carry arrivals)
    spawn_rate: float = Field(gt=0)  # users started per second
    warmup_s: float = Field(ge=0, le=600)  # load before the measured window
    duration_s: float = Field(gt=0, le=3600)  # the measured window (each step of a sweep)
    # Independent repeats of every cell (a fresh server process each), interleaved.
    repeats: int = Field(1, ge=1, le=50)
    # Fewer independent repeats than this, and no claim is pass or fail (the default profile: 3).
    min_repeats: int = Field(1, ge=1, le=50)
    options: dict[str, LocustOption] = {}  # passed to the locustfile as --name value (e.g. pacing = 0.2)
    # Request names sent back to back by users that do not pace (a stream, an export): their length is
    # what is measured, not a user falling behind its pacing, so the coordinated-omission check skips them.
    unpaced: list[str] = []
    budget_s: float | None = Field(None, gt=0)  # wall-time budget of a whole run: reported, not enforced
    seed: SeedSize | None = None  # overrides the database's seed size for this profile
    matrix: dict[str, list[Any]] = {}  # overrides these keys of the scenario's matrix for this profile
    # Only these variants run in this profile (a check on one variant); empty: every variant. Claims
    # that name a variant left out are not judged in it.
    variants: list[str] = []
    # `closed`: `users` paced users, each waiting for its answer. `open`: arrivals on a schedule
    # (lab/drive/arrivals.py) at `rate` req/s, or a sweep over `rates` / `search` on one server process.
    model: Literal["closed", "open"] = "closed"
    rate: float | None = Field(None, gt=0, le=100_000)  # open model: arrivals per second
    # Open model: a sweep's offered rates, each a step on the same server process.
    rates: list[Annotated[float, Field(gt=0, le=100_000)]] = []
    search: Search | None = None  # open model: rates growing geometrically instead of `rates`
    bisect: int = Field(0, ge=0, le=6)  # then halve the gap between last rate meeting the SLO and first missing it
    # A sweep of listed rates ends after this many missed steps in a row (past capacity, more steps
    # only load a server that is already late); a check that needs every rate sets it to their number.
    misses_to_stop: int = Field(2, ge=1, le=100)
    # Open model: Poisson (random gaps) or uniform (even gaps) arrival times.
    arrivals: Literal["poisson", "uniform"] = "poisson"
    max_in_flight: int = Field(200, ge=1, le=10_000)  # requests outstanding at once (the client's pool)
    when_full: Literal["wait", "drop"] = "wait"  # an arrival that finds the pool full: waits (counted) or is dropped
    settle_s: float = Field(1.0, ge=0, le=120)  # each later step of a sweep: warm-up at its new rate
    drain_s: float = Field(10.0, ge=0, le=120)  # after the schedule ends: wait this long for answers
    lag_bound_ms: float = Field(10.0, gt=0)  # send lag p99 above this: the generator missed its schedule
    # Locust processes: `auto` is one per generator core the lab allocates (lab/drive/processes.py:
    # core_layout), so a bigger machine lifts the generator's ceiling by itself; more than one runs
    # Locust's master and workers (lab/drive/generators.py).
    generators: Annotated[int, Field(ge=1, le=MAX_GENERATORS)] | Literal["auto"] = "auto"
    # The rates claims are judged at (`at_rps`) get this longer window, for their percentiles' samples.
    claimed_duration_s: float | None = Field(None, gt=0, le=3600)
    # Open model with an SLO: a step runs at least its window (`duration_s`, or `claimed_duration_s`)
    # and then on, up to this, until a binomial bound decides whether it meets the SLO
    # (lab/analysis/decision.py); it ends as soon as it is decided. None: fixed windows, and a step
    # still undecided at its end is recorded as undecided, never as a capacity.
    max_duration_s: float | None = Field(None, gt=0, le=3600)
    # One-sided confidence of each step's decision, on each side.
    decide_confidence: float = Field(0.95, ge=0.5, lt=1)

    @model_validator(mode="after")
    def _model_fits(self) -> LoadProfile:
        if self.model == "closed" and (self.rate or self.rates or self.search or self.bisect):
            raise ValueError('rate, rates, search and bisect need model = "open"')
        if self.model == "open":
            given = sum(1 for v in (self.rate, self.rates, self.search) if v)
            if given != 1:
                raise ValueError('model = "open" needs exactly one of rate = R, rates = [R, ...] or search = {...}')
            if self.rates and self.rates != sorted(set(self.rates)):
                raise ValueError(f"rates must be ascending and distinct, got {self.rates}")
        if self.max_duration_s is not None and self.max_duration_s < max(self.duration_s, self.claimed_duration_s or 0):
            raise ValueError(
                f"max_duration_s ({self.max_duration_s:g}) must be at least the window it extends "
                f"({max(self.duration_s, self.claimed_duration_s or 0):g} s)"
            )
        return self

    @property
    def sweep(self) -> bool:
        return bool(self.rates or self.search)

    def planned_rates(self) -> list[float]:
        """The rates every variant runs (a sweep may add bisection steps of its own)."""
        return self.rates or (self.search.steps() if self.search else [self.rate] if self.rate else [])


class Slo(Strict):
    """What a variant must meet at a rate for that rate to count toward its capacity."""

    # Percentiles over every arrival of a step: one failed, dropped or never sent counts as never
    # answered, so p99_ms = 100 holds when at most 1 % of arrivals were not answered OK within 100 ms.
    p50_ms: float | None = Field(None, gt=0)  # median latency of a step at most this
    p90_ms: float | None = Field(None, gt=0)  # p90 at most this
    p99_ms: float | None = Field(None, gt=0)  # p99 at most this
    error_rate: float = Field(0.01, ge=0, le=1)  # failures at most this share of requests
    achieved: float = Field(0.95, gt=0, le=1)  # goodput at least this share of the offered rate

    def text(self) -> str:
        """In words, as a report prints it: `p99 <= 100 ms, errors <= 1%, goodput >= 95% of offered`."""
        bounds = [
            f"{k} <= {v:g} ms" for k, v in (("p50", self.p50_ms), ("p90", self.p90_ms), ("p99", self.p99_ms)) if v
        ]
        return ", ".join([*bounds, f"errors <= {self.error_rate:.0%}", f"goodput >= {self.achieved:.0%} of offered"])

    def misses(
        self,
        latency_ms: dict[str, float | None],
        error_rate: float | None,
        achieved: float | None,
        latency: bool = True,
    ) -> list[str]:
        """What a step missed, in words; empty when it meets the SLO. `latency` False: the error rate
        and goodput only (the latency bounds are decided on the arrivals' counts instead)."""
        out = []
        for key, bound in (("p50", self.p50_ms), ("p90", self.p90_ms), ("p99", self.p99_ms)) if latency else ():
            value = latency_ms.get(key)
            if bound is not None and (value is None or value > bound):
                shown = (
                    "among the arrivals never answered OK"
                    if value == math.inf
                    else f"{value if value is None else round(value, 1)} ms"
                )
                out.append(f"{key} {shown} > {bound:g} ms")
        if error_rate is None or error_rate > self.error_rate:
            out.append(f"error rate {error_rate} > {self.error_rate:g}")
        if achieved is None or achieved < self.achieved:
            out.append(
                f"achieved {achieved if achieved is None else round(achieved, 3)} of offered < {self.achieved:g}"
            )
        return out


class QueueModel(Strict):
    """The pitfall's mechanism as a queue: `servers` (1 for a blocked loop, the threadpool's tokens
    for a pool), fed the measured arrivals and the service times of the sweep's lowest rate."""

    # Servers of the queue: 1 for a blocked loop, the threadpool's tokens for `def` routes.
    servers: int = Field(1, ge=1, le=10_000)
    # Which waiting request a free server takes: the earliest (`fifo`), any (`random`), or (one
    # server) `batches`: an event loop's rounds, each serving what arrived during the previous one.
    discipline: Literal["fifo", "random", "batches"] = "fifo"
    # The variants whose mechanism the model describes; empty: every `bad*` variant.
    variants: list[str] = []
    # The request name that goes through the queue (e.g. a `def` route through the threadpool,
    # while an async /health bypasses it); empty: every request (one blocked loop serves all).
    request: str = ""
    # The request whose percentiles are set against the model (e.g. /work, while the neighbour's
    # arrivals still take their turn in the queue); empty: `request`, or every request.
    read: str = ""
    # A request name that does no work (the neighbour /health): the median of its answers that had the
    # server to themselves is the round trip outside the server (client, kernel, loopback), taken out
    # of every service time the queue is fed and added back to every latency. Measured on
    # loop-blocking: a /work answered alone took 21.1 ms, while back-to-back answers left the blocked
    # loop 20.4 ms apart; counting the 0.9 ms round trip as the server's own time overstated rho by
    # about 5 % and the model's median by 25 % at 45 req/s (docs/capacity.md).
    round_trip: str = ""

    @property
    def reads(self) -> str:
        return self.read or self.request

    def describes(self, variant: str) -> bool:
        return variant in self.variants if self.variants else is_bad(variant)


class Check(Strict):
    """One answer the runner checks on every variant before loading it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    path: str = Field(pattern=r"^/")  # GET this path
    status: int = Field(200, ge=100, le=599)  # the status it must answer
    # Written `json`: the exact JSON body it must answer.
    body: dict[str, Any] | list[Any] | None = Field(None, alias="json")
    first: dict[str, Any] | None = None  # for a JSON array whose length varies: its first element


class Claim(Strict):
    """`metric(variant) / metric(baseline) <op> threshold`, or `metric(variant) <op> threshold`."""

    text: str  # the claim in words, as reports print it
    metric: str  # a claimable metric of the registry (docs/adding-a-pitfall.md lists them)
    variant: str  # the variant measured
    baseline: str | None = None  # divided by this variant's value (a ratio claim); none: the value itself
    # The value (or ratio) must be >= or <= the threshold, or lie `between` it and `upper` (a band,
    # judged on both sides: "within 15 % of 200/s" is 170 to 230, not just at least 170).
    op: Literal[">=", "<=", "between"] = ">="
    threshold: float  # what the value must reach; a ratio's `x`; a band's lower end
    upper: float | None = None  # a band's upper end (op = "between")
    request: str = "all"  # a request name of the locustfile, or all
    # Only at the matrix points with these values (e.g. { "env.WORK" = "hash" }); all points when empty.
    where: dict[str, Any] = {}
    # The baseline measured at another matrix point: this one with these values instead (e.g.
    # { deps = "fastapi==0.165.*" }), for a claim across versions or settings; same point when empty.
    baseline_at: dict[str, Any] = {}
    # Open-model sweeps: judge the step at this offered rate (every variant ran it), not the cell.
    at_rps: float | None = Field(None, gt=0)
    # Open-model sweeps: judge at this fraction of one variant's (`of`) capacity measured in the
    # same repeat; the lab runs every variant at that rate after the sweep.
    at_rate: float | None = Field(None, gt=0, le=2)
    of: str | None = None  # the variant whose capacity `at_rate` is a fraction of (the first variant)
    # Judged only on runs of this load model (a profile's `model`); other runs skip the claim.
    load_model: Literal["closed", "open"] | None = None

    @property
    def at_tag(self) -> str | None:
        """How the step a claim is judged at is labelled in the record (`at_rate` claims)."""
        return f"{self.at_rate:g} x capacity of {self.of}" if self.at_rate is not None else None

    @property
    def needs_model(self) -> str | None:
        """The load model a run must have for this claim to be judged on it."""
        implied = self.at_rps is not None or self.at_rate is not None or self.metric == "capacity"
        return self.load_model or ("open" if implied else None)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, name: str) -> str:
        known = metrics.get(name)
        if known is None or not known.claimable:
            raise ValueError(
                f"unknown metric {name!r}; one of {', '.join(metrics.claimable())}, or app_<probe>_peak|mean|last"
            )
        return name

    @model_validator(mode="after")
    def _band(self) -> Claim:
        if (self.op == "between") != (self.upper is not None):
            raise ValueError('op = "between" needs upper (the band\'s upper end), and upper needs op = "between"')
        if self.upper is not None and self.upper <= self.threshold:
            raise ValueError(
                f"upper ({self.upper:g}) must be above threshold ({self.threshold:g}), the band's lower end"
            )
        return self

    @property
    def needs(self) -> str:
        """What the value must be, as pages print it: `>= 10x`, `<= 0.01`, `170 to 230`."""
        unit = "x" if self.baseline else ""
        if self.op == "between":
            return f"{self.threshold:g}{unit} to {self.upper:g}{unit}"
        return f"{self.op} {self.threshold:g}{unit}"

    @property
    def parity(self) -> bool:
        """A ratio claim that two equal sides satisfy ("at least as fast as"): null mode passes it by design."""
        if self.baseline is None:
            return False
        if self.op == "between":
            return self.threshold <= 1.0 <= (self.upper or 0.0)
        return (self.threshold <= 1.0) if self.op == ">=" else (self.threshold >= 1.0)

    @model_validator(mode="after")
    def _baseline_elsewhere(self) -> Claim:
        if self.baseline_at and self.baseline is None:
            raise ValueError("baseline_at needs a baseline: the variant measured at that matrix point")
        return self

    @model_validator(mode="after")
    def _one_rate(self) -> Claim:
        if self.at_rps is not None and self.at_rate is not None:
            raise ValueError("at_rps and at_rate: name one rate to judge at, not both")
        if (self.at_rate is None) != (self.of is None):
            raise ValueError(
                "at_rate needs `of`, the variant whose capacity it is a fraction of (and `of` needs at_rate)"
            )
        return self

    @model_validator(mode="after")
    def _request_needs_traffic_metric(self) -> Claim:
        known = metrics.get(self.metric)
        if self.request != "all" and known is not None and known.scope == "cell":
            raise ValueError(
                f"request {self.request!r} given for {self.metric!r}, which is measured per cell, not per "
                "request name; drop `request` or claim a traffic metric"
            )
        return self


class Reference(Strict):
    """A predicted throughput drawn beside the measured one (e.g. threads / call duration)."""

    label: str  # the line's label
    rps: float = Field(gt=0)  # its throughput
    request: str = "all"  # the request name whose chart it goes on


class AppProbe(Strict):
    """A route every variant answers with a JSON number the lab samples every 0.5 s during the load."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")  # recorded as app_<name>_peak, _mean, _last
    path: str = Field(pattern=r"^/")  # the route the app publishes it at
    field: str  # the JSON field holding the number


class Pinning(Strict):
    """CPU cores for the server and for Locust; empty lists mean: decide from the machine."""

    server: list[int] = []  # the server's cores
    generator: list[int] = []  # Locust's cores


# The HTTP parser a kind has no choice about.
OWN_PARSER = {"granian": "hyper", "hypercorn": "h11"}


def cannot_run(server: ServerSettings) -> str | None:
    """Why this kind cannot run these settings, in one line; None when it can."""
    kind = server.kind
    own = OWN_PARSER.get(kind)
    if own is not None and server.http != own:
        return (
            f"{kind} parses HTTP with {own} only, not {server.http}; leave http out (h11 and httptools are uvicorn's)"
        )
    if own is None and server.http == "hyper":
        return f"hyper is granian's HTTP parser; {kind} parses with h11 or httptools"
    if kind == "hypercorn" and server.loop == "auto":
        return "hypercorn's worker class is asyncio or uvloop; loop auto is uvicorn's"
    if kind != "granian" and (server.runtime_threads != 1 or server.blocking_threads != 1):
        return f"runtime_threads and blocking_threads are granian's; {kind} runs one event loop per worker"
    if kind == "granian" and server.blocking_threads != 1:
        return (
            "granian runs ASGI apps with one blocking thread per worker (it refuses more); "
            "use workers or runtime_threads"
        )
    return None


def gunicorn_worker(server: ServerSettings) -> str | None:
    if server.loop in ("auto", "uvloop") and server.http in ("auto", "httptools"):
        return "uvicorn_worker.UvicornWorker"
    if server.loop == "asyncio" and server.http == "h11":
        return "uvicorn_worker.UvicornH11Worker"
    return None


MATRIX_KEYS = sorted(set(ServerSettings.model_fields) - {"host", "env", "health"})


# The one matrix key that varies the load rather than the server: how many Locust processes.
LOAD_MATRIX_KEY = "generators"


def setting_keys(key: str) -> list[str]:
    """`loop+http` varies two settings together: its values are `uvloop+httptools`, `asyncio+h11`."""
    return key.split("+")


class CiSettings(Strict):
    """How CI gates this scenario against its baseline (lab/ci/gate.py)."""

    profile: str = "quick"  # the profile CI runs
    tolerance: float = Field(0.25, ge=0, le=10)  # how far a value may move the worse way before it regresses
    gate_absolute: bool = False  # also gate rps and p99 themselves (same machine only)
    # `lab ci --base`: the offered rate at which a sweep's p99 is compared, head against base (a
    # fixed-rate profile compares at its own rate); none: capacity only.
    rate: float | None = Field(None, gt=0, le=100_000)
    # Deciding fast (lab/analysis/sequential.py): at least this many repeats, then stop once every claim is decided.
    # Two, because one repeat's thirds cannot show how much a fresh server process moves the value.
    min_repeats: int = Field(2, ge=1, le=20)
    max_repeats: int = Field(4, ge=1, le=20)  # and at most this many

    @model_validator(mode="after")
    def _repeats_ordered(self) -> CiSettings:
        if self.min_repeats > self.max_repeats:
            raise ValueError(f"min_repeats ({self.min_repeats}) is above max_repeats ({self.max_repeats})")
        return self


class CatalogueRow(Strict):
    """The scenario's row in the README's catalogue table (generated: `python -m lab schema`)."""

    order: float = 1000  # the table's order; scenarios without one come last, by name
    pitfall: str = ""  # short; default: the title
    variants: str = ""  # the variants as a reader needs them; default: their names
    claim: str = ""  # short; default: the scenario's claim
    seeds: str = ""  # what the source articles say, quoted


class Scenario(Strict):
    name: str
    path: str
    sha256: str
    title: str  # one line: the pitfall, as a report's heading
    pitfall: str  # what goes wrong and why, in a paragraph
    claim: str  # what the lab claims and checks, in words (the `[[claims]]` are the checks)
    locustfile: str  # the load, a path relative to the project root (lab/paths.py)
    # Name -> `module:attribute` of the ASGI app; `bad*` are bad, the rest fixes.
    variants: dict[str, AppRef] = Field(min_length=1)
    # The variant null mode runs in every variant's place; default: the first that is not `bad*`.
    reference: str | None = None
    server: ServerSettings = ServerSettings()  # how every variant is served (a matrix varies it)
    # Server flags one variant adds to `server.flags`, for a fix that is a server setting rather
    # than code (uvicorn's --limit-concurrency): the app is the same, the command line is not.
    variant_flags: dict[str, list[str]] = {}
    # Server settings one variant runs with instead of the scenario's (e.g. { kind = "gunicorn" }
    # for a fix that is another server): applied over `server` and each matrix point, checked alike.
    variant_server: dict[str, dict[str, Any]] = {}
    # The folder a variant's app is imported from (its server's cwd and PYTHONPATH), absolute or
    # relative to the project root: another checkout of the code, as `lab ci --base REF` sets for
    # the base's variants (a git worktree). A variant not named here: the project root.
    variant_roots: dict[str, str] = {}
    # nginx in front of every variant; the load goes to it (lab/drive/proxy.py).
    proxy: ProxySettings | None = None
    # nginx in front of one variant only, or with settings of its own (a fix that is a proxy
    # setting, such as client_max_body_size): the app is the same, what stands before it is not.
    variant_proxy: dict[str, ProxySettings] = {}
    database: Database | None = None  # a real PostgreSQL for the run (DATABASE_URL for the apps)
    upstream: UpstreamConfig | None = None  # a service on loopback for the apps to call (UPSTREAM_URL)
    # Server settings (or env.NAME, or generators) to vary: each combination is a cell; join settings varied together with +.
    matrix: dict[str, list[Any]] = {}
    pinning: Pinning = Pinning()  # cores for the server and the generator; empty: the lab's split
    verify: list[Check] = Field(min_length=1)  # checks every variant must answer before any load
    profiles: dict[str, LoadProfile]  # load levels by name; `quick` and `default` are required
    claims: list[Claim] = []  # what a run judges: pass, fail or inconclusive
    references: list[Reference] = []  # reference lines drawn on the throughput chart
    app_probes: list[AppProbe] = []  # numbers the app publishes at a route, sampled every 0.5 s as app_<name>
    slo: Slo | None = None  # capacity = the highest rate of a sweep that meets it
    queue: QueueModel | None = None  # draw the queueing prediction beside the measured curve
    ci: CiSettings = CiSettings()  # how CI gates the scenario against its baseline
    # Sample the mechanism inside the app (event-loop lag, threadpool tokens in use): apps/common.py.
    mechanism: bool = False
    catalogue: CatalogueRow = CatalogueRow()  # its row in the README's catalogue table

    @field_validator("locustfile")
    @classmethod
    def _locustfile_exists(cls, value: str) -> str:
        if not (ROOT / value).is_file():
            raise ValueError(f"no such file {value!r} (paths are relative to the project root, {ROOT})")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        matrices = [self.matrix, *(p.matrix for p in self.profiles.values())]
        for key, values in ((k, v) for m in matrices for k, v in m.items()):
            if key == LOAD_MATRIX_KEY:
                for value in values:
                    try:
                        generators_value(value)
                    except ValueError as exc:
                        raise ValueError(f"matrix.{key}: value {exc}") from None
                continue
            for part in setting_keys(key):
                if part not in MATRIX_KEYS and not part.startswith("env."):
                    raise ValueError(
                        f"matrix: unknown server setting {part!r}; one of {', '.join(MATRIX_KEYS)}, env.NAME or "
                        f"{LOAD_MATRIX_KEY} (Locust processes) "
                        "(join settings varied together with '+': \"loop+http\")"
                    )
            for value in values:
                try:
                    apply_setting(self.server, {key: value})
                except ValidationError as exc:
                    raise ValueError(
                        f"matrix.{key}: value {value!r} is not a valid server setting: {exc.errors()[0]['msg']}"
                    ) from None
                except ValueError as exc:
                    raise ValueError(str(exc)) from None
        for i, claim in enumerate(self.claims):
            for role, name in (("variant", claim.variant), ("baseline", claim.baseline)):
                if name is not None and name not in self.variants:
                    raise ValueError(f"claims[{i}].{role}: unknown variant {name!r}; one of {', '.join(self.variants)}")
        if self.reference is not None and self.reference not in self.variants:
            raise ValueError(f"reference: unknown variant {self.reference!r}; one of {', '.join(self.variants)}")
        named_fields = (
            ("variant_flags", self.variant_flags),
            ("variant_roots", self.variant_roots),
            ("variant_proxy", self.variant_proxy),
            ("variant_server", self.variant_server),
        )
        for field, named in named_fields:
            for name in named:
                if name not in self.variants:
                    raise ValueError(f"{field}.{name}: unknown variant {name!r}; one of {', '.join(self.variants)}")
        for name, profile in self.profiles.items():
            for variant in profile.variants:
                if variant not in self.variants:
                    raise ValueError(
                        f"profiles.{name}.variants: unknown variant {variant!r}; one of {', '.join(self.variants)}"
                    )
            if profile.sweep and self.slo is None:
                raise ValueError(f"profiles.{name}: a sweep needs an slo (e.g. slo = {{ p99_ms = 100 }})")
        for i, claim in enumerate(self.claims):
            if claim.of is not None:
                first = next(iter(self.variants))
                if claim.of != first:
                    raise ValueError(
                        f"claims[{i}].of: {claim.of!r} must be the first variant ({first!r}): its capacity is "
                        "measured first in each repeat, then every variant runs at the fraction"
                    )
            if claim.at_rps is not None:
                if claim.load_model == "closed":
                    raise ValueError(f"claims[{i}].at_rps: a closed-model claim has no arrival rate")
                for name, profile in self.profiles.items():
                    if profile.model == "open" and claim.at_rps not in profile.planned_rates():
                        raise ValueError(
                            f"claims[{i}].at_rps: {claim.at_rps:g} req/s is not a rate profile {name!r} runs "
                            f"({', '.join(f'{r:g}' for r in profile.planned_rates())})"
                        )
        if self.ci.profile not in self.profiles:
            raise ValueError(f"ci.profile: no profile {self.ci.profile!r}; one of {', '.join(self.profiles)}")
        gated = self.profiles[self.ci.profile]
        if self.ci.rate is not None and gated.sweep and self.ci.rate not in gated.planned_rates():
            raise ValueError(
                f"ci.rate: {self.ci.rate:g} req/s is not a rate profile {self.ci.profile!r} runs "
                f"({', '.join(f'{r:g}' for r in gated.planned_rates())})"
            )
        for required in ("quick", "default"):
            if required not in self.profiles:
                raise ValueError(f"profiles: a {required!r} profile is required")
        for name, overrides in self.variant_server.items():
            unknown = sorted(set(overrides) - set(MATRIX_KEYS) - {"env"})
            if unknown:
                raise ValueError(
                    f"variant_server.{name}.{unknown[0]}: not a server setting; one of {', '.join(MATRIX_KEYS)}"
                )
            try:
                apply_setting(self.server, flat_setting(overrides))
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(map(str, error["loc"]))
                raise ValueError(f"variant_server.{name}{'.' + where if where else ''}: {error['msg']}") from None
        return self

    @property
    def reference_variant(self) -> str:
        fixes = [v for v in self.variants if not is_bad(v)]
        return self.reference or (fixes[0] if fixes else next(iter(self.variants)))

    def served(self, variant: str, server: ServerSettings) -> ServerSettings:
        """`server` with the variant's own settings over it and its own flags added (none for most)."""
        overrides = self.variant_server.get(variant)
        if overrides:
            server = apply_setting(server, flat_setting(overrides))
        extra = self.variant_flags.get(variant, [])
        return server.model_copy(update={"flags": [*server.flags, *extra]}) if extra else server

    def proxied(self, variant: str) -> ProxySettings | None:
        """The nginx in front of `variant`: its own, else the scenario's, else none."""
        return self.variant_proxy.get(variant, self.proxy)

    def profile(self, name: str) -> LoadProfile:
        if name not in self.profiles:
            raise LabError(f"{self.path}: no profile {name!r}; one of {', '.join(self.profiles)}")
        return self.profiles[name]


def flat_setting(overrides: dict[str, Any]) -> dict[str, Any]:
    """A table of server settings as matrix keys: its `env` table as `env.NAME` keys (merged into
    the server's environment rather than replacing it)."""
    env = overrides.get("env", {})
    return {**{k: v for k, v in overrides.items() if k != "env"}, **{f"env.{k}": v for k, v in env.items()}}


def apply_setting(server: ServerSettings, setting: dict[str, Any]) -> ServerSettings:
    """Server settings at one matrix point; `env.NAME` keys set one environment variable."""
    # What the file set, not every default: a default that follows from another field (a kind's
    # own parser) must follow the matrix point's value of that field.
    data = server.model_dump(exclude_unset=True)
    for key, value in _split(setting).items():
        if key == LOAD_MATRIX_KEY:
            continue  # the load's, not the server's (plan.expand applies it)
        if key.startswith("env."):
            data["env"] = {**data.get("env", {}), key[4:]: str(value)}
        else:
            data[key] = value
    # model_validate, not model_copy: matrix values must pass the same checks as the file's.
    return ServerSettings.model_validate(data)


def _split(setting: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in setting.items():
        keys = setting_keys(key)
        if len(keys) == 1:
            out[key] = value
            continue
        values = str(value).split("+")
        if len(values) != len(keys):
            raise ValueError(f"matrix.{key}: value {value!r} needs {len(keys)} parts joined by '+'")
        out.update(zip(keys, values, strict=True))
    return out
