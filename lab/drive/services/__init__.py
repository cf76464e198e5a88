"""Services a scenario declares beside the app under test: a PostgreSQL and an upstream.

They are shared by every cell of a run. Each starts inside the run's ExitStack (so it is stopped
whatever happens) and returns what it adds: variables for the apps' environment, a part for the
run record, samplers for each cell. Nothing here mutates the runner's state.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from lab.drive.sampling import Sampler
from lab.drive.services.postgres import Monitor, Postgres
from lab.drive.services.seed import seed
from lab.drive.services.upstream import UpstreamService
from lab.record.models import DatabaseInfo, UpstreamInfo
from lab.record.window import Window
from lab.scenario.models import Scenario


@dataclass(frozen=True)
class Services:
    """What the cells of one run share, and what it adds to the apps' environment and the record."""

    env: dict[str, str] = field(default_factory=dict)
    database: DatabaseInfo | None = None
    upstream: UpstreamInfo | None = None
    db: Postgres | None = None
    monitor: Monitor | None = None
    upstream_service: UpstreamService | None = None

    @property
    def faults(self) -> list[dict[str, Any]]:
        return self.upstream.faults if self.upstream else []

    def pids(self) -> set[int]:
        """Processes of the services, which outlive each cell by design."""
        found: set[int] = set()
        for pid in (self.db.pid if self.db else None, self.upstream_service.pid if self.upstream_service else None):
            if pid is None:
                continue
            try:
                root = psutil.Process(pid)
                found |= {root.pid, *(p.pid for p in root.children(recursive=True))}
            except psutil.NoSuchProcess:
                continue
        return found

    def before_cell(self) -> None:
        if self.upstream_service is not None:
            self.upstream_service.reset()

    def watch(self, sampler: Sampler) -> None:
        """The services' samplers for one cell: their CPU, and their own view of the load."""
        if self.db is not None and self.db.pid is not None:
            sampler.watch("database", self.db.pid)
        if self.monitor is not None:
            sampler.add_probe(self.monitor.read, every_s=0.5)
        if self.upstream_service is not None:
            if self.upstream_service.pid is not None:  # a target's upstream: its counters, not its process
                sampler.watch("upstream", self.upstream_service.pid)
            sampler.add_probe(self.upstream_service.read, every_s=0.5)

    def on_window(self, window: Window) -> None:
        """The load has started: fault windows count from now."""
        if self.upstream_service is not None and self.faults:
            self.upstream_service.arm(window.t0, self.faults)


def start(
    scenario: Scenario,
    profile: str,
    run_id: str,
    directory: Path,
    cores: list[int],
    env: dict[str, str],
    stack: ExitStack,
    target: bool = False,
) -> Services:
    """Start what the scenario declares; `stack` stops it, whatever happens. For a `target` (a
    server the lab did not start) nothing is started: its database is sampled, and seeded with the
    scenario's tables, only when DATABASE_URL names it; its upstream is configured (the scenario's
    mode and faults) and sampled only when UPSTREAM_CONTROL_URL names its control port."""
    added: dict[str, str] = {}
    upstream_info = upstream_service = None
    control_url = os.environ.get("UPSTREAM_CONTROL_URL", "") if target else ""
    if scenario.upstream is not None and (control_url or not target):
        mode = scenario.upstream.model_dump(exclude={"faults"})
        upstream_service = stack.enter_context(
            UpstreamService(mode=mode, env=env, cores=cores, log=directory / "upstream.log", control_url=control_url)
        )
        faults = [f.model_dump() for f in scenario.upstream.faults]
        upstream_info = UpstreamInfo(mode=mode, faults=faults, cores=[] if control_url else cores)
        if not target:
            added["UPSTREAM_URL"] = upstream_service.url
    if scenario.database is None or (target and not os.environ.get("DATABASE_URL")):
        return Services(added, None, upstream_info, upstream_service=upstream_service)
    # The database shares the load generator's core: on two cores, putting it beside the server
    # would bill the server for the database's work. The generator_bound flag counts both.
    config = scenario.database
    db = stack.enter_context(
        Postgres(
            max_connections=config.max_connections,
            run_id=run_id,
            env=env,
            cores=cores,
            log=directory / "postgres.log",
            attach=target,
        )
    )
    size = scenario.profile(profile).seed or config.seed
    rows = seed(db.app_url, size, replace=target)
    monitor = Monitor(db)
    stack.callback(monitor.close)
    added |= {"DATABASE_URL": db.app_url, "DB_MAX_CONNECTIONS": str(config.max_connections)}
    database = DatabaseInfo(
        mode=db.mode,
        server_version=db.version,
        max_connections=db.max_connections,  # a target's: read from its server
        seed=size.model_dump(),
        rows=rows,
        cores=cores if db.mode == "embedded" else None,
    )
    return Services(added, database, upstream_info, db, monitor, upstream_service)
