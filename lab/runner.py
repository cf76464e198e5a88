"""Run a plan: for each cell, server up -> verify -> load + samplers -> server down -> summary.

The runner owns every process it starts. Whatever happens (a failed cell, Ctrl-C, SIGTERM, a
crash), every process tagged with the run id is gone when `run` returns or raises, and
run.json says whether the run is `complete`, `incomplete` or `failed`.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
import psutil

from lab import environments, load, results
from lab.checks import get, verify_answers
from lab.claims import evaluate
from lab.environment import capture
from lab.errors import CellError, LabError
from lab.paths import RESULTS, ROOT
from lab.plan import Cell, expand
from lab.processes import (
    OWNER_TAG,
    RUN_TAG,
    CoreLayout,
    core_layout,
    free_port,
    kill_orphans,
    kill_tagged,
    port_in_use,
    tagged,
)
from lab.progress import Progress
from lab.sampling import Sampler
from lab.scenario import AppProbe, Scenario
from lab.servers import Server
from lab.services.postgres import Monitor, Postgres
from lab.services.seed import seed
from lab.services.upstream import Upstream
from lab.summary import SERVICE_CPU, flags, read_requests, read_window, summarise


@dataclass
class RunOptions:
    profile: str = "default"
    repeats: int | None = None
    port: int | None = None
    results_root: Path = RESULTS
    progress: bool = True
    versions: list[str] | None = None


@dataclass
class Services:
    """What the cells of one run share: the database, if the scenario declares one."""

    db: Postgres | None = None
    monitor: Monitor | None = None
    upstream: Upstream | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)

    def pids(self) -> set[int]:
        """Processes of the services, which outlive each cell by design."""
        found: set[int] = set()
        for pid in (self.db.pid if self.db else None, self.upstream.pid if self.upstream else None):
            if pid is None:
                continue
            try:
                root = psutil.Process(pid)
                found |= {root.pid, *(p.pid for p in root.children(recursive=True))}
            except psutil.NoSuchProcess:
                continue
        return found


@dataclass
class Outcome:
    directory: Path
    record: dict[str, Any]
    errors: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A terminated run must clean up exactly like an interrupted one.
    raise KeyboardInterrupt


def run(scenario: Scenario, options: RunOptions) -> Outcome:
    load.require_locust()
    for spec in options.versions or []:
        environments.parse(spec)  # a malformed set fails here, before anything starts
    cells = expand(scenario, options.profile, options.repeats, options.versions)
    layout = core_layout(scenario.pinning.server, scenario.pinning.generator)
    if options.port is not None and port_in_use(scenario.server.host, options.port):
        raise LabError(f"port {options.port} on {scenario.server.host} is taken; free it or choose another --port")

    run_id = results.new_run_id()
    directory = results.run_dir(scenario.name, run_id, options.results_root)
    directory.mkdir(parents=True)
    record = _new_record(scenario, options, run_id, layout)
    results.write_record(directory, record)
    outcome = Outcome(directory, record)
    progress = Progress(cells) if options.progress else None
    env = {**os.environ, RUN_TAG: run_id, OWNER_TAG: str(os.getpid()), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    orphans = kill_orphans()
    if orphans and progress:
        progress.say(f"killed {len(orphans)} processes left running by an earlier run whose harness died: {orphans}")

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    # The harness (its sampling threads) keeps off the server's core too.
    own_cores = os.sched_getaffinity(0)
    if layout.pinned:
        os.sched_setaffinity(0, layout.generator)
    try:
        with ExitStack() as stack:
            services = _start_services(scenario, options, record, directory, layout, env, stack)
            results.write_record(directory, record)
            for index, cell in enumerate(cells):
                if progress:
                    progress.cell_start(index, cell)
                try:
                    measured = _run_cell(
                        cell, scenario, directory, layout, env, options.port, run_id, progress, services
                    )
                except CellError as exc:
                    outcome.errors.append(str(exc))
                    measured = _cell_record(cell) | {"status": "failed", "error": str(exc)}
                    if progress:
                        progress.say(f"    error: {exc}")
                record["cells"].append(measured)
                record["variants"] = aggregate(record["cells"])
                results.write_record(directory, record)
        ok_cells = [c for c in record["cells"] if c["status"] == "ok"]
        record["claims"] = evaluate(scenario.claims, ok_cells)
        record["status"] = "failed" if outcome.errors else "complete"
        record["error"] = outcome.errors[0] if outcome.errors else None
    except KeyboardInterrupt:
        record["status"], record["error"] = "incomplete", "interrupted (Ctrl-C or SIGTERM) before the plan finished"
        raise
    except BaseException as exc:
        record["status"], record["error"] = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.sched_setaffinity(0, own_cores)
        left = kill_tagged(run_id)
        if left:
            record["left_behind_pids"] = left
            if record["status"] == "complete":
                record["status"], record["error"] = "failed", f"processes left behind and killed: {left}"
        record["finished_at"] = _now()
        record["wall_s"] = round(time.monotonic() - started, 2)
        results.write_record(directory, record)
    return outcome


def _start_services(
    scenario: Scenario,
    options: RunOptions,
    record: dict[str, Any],
    directory: Path,
    layout: CoreLayout,
    env: dict[str, str],
    stack: ExitStack,
) -> Services:
    """Services shared by every cell of the run, stopped by `stack` whatever happens."""
    services = Services()
    if scenario.upstream is not None:
        mode = scenario.upstream.model_dump(exclude={"faults"})
        services.upstream = stack.enter_context(
            Upstream(mode=mode, env=env, cores=layout.generator, log=directory / "upstream.log")
        )
        services.faults = [f.model_dump() for f in scenario.upstream.faults]
        env["UPSTREAM_URL"] = services.upstream.url
        record["upstream"] = {"mode": mode, "faults": services.faults, "cores": layout.generator}
    if scenario.database is None:
        return services
    # The database shares the load generator's core: on two cores, putting it beside the server
    # would bill the server for the database's work. The generator_bound flag counts both.
    db = stack.enter_context(
        Postgres(max_connections=scenario.database.max_connections, run_id=record["run_id"], env=env,
                 cores=layout.generator, log=directory / "postgres.log")
    )  # fmt: skip
    size = scenario.profile(options.profile).seed or scenario.database.seed
    rows = seed(db.app_url, size)
    services.db = db
    services.monitor = Monitor(db)
    stack.callback(services.monitor.close)
    env["DATABASE_URL"] = db.app_url
    env["DB_MAX_CONNECTIONS"] = str(scenario.database.max_connections)
    record["database"] = {
        "mode": db.mode, "server_version": db.version, "max_connections": scenario.database.max_connections,
        "seed": size.model_dump(), "rows": rows, "cores": layout.generator if db.mode == "embedded" else None,
    }  # fmt: skip
    record["environment"]["postgres"] = db.version
    return services


def _new_record(scenario: Scenario, options: RunOptions, run_id: str, layout: CoreLayout) -> dict[str, Any]:
    return {
        "schema": results.SCHEMA_VERSION,
        "scenario": scenario.name,
        "title": scenario.title,
        "pitfall": scenario.pitfall,
        "claim_text": scenario.claim,
        "run_id": run_id,
        "profile": options.profile,
        "status": "incomplete",
        "error": None,
        "started_at": _now(),
        "finished_at": None,
        "wall_s": None,
        "scenario_file": {"path": scenario.path, "sha256": scenario.sha256},
        "locustfile": scenario.locustfile,
        "load": scenario.profile(options.profile).model_dump(),
        "matrix": {
            **scenario.matrix,
            **scenario.profile(options.profile).matrix,
            **({"deps": options.versions} if options.versions else {}),
        },
        "references": [r.model_dump() for r in scenario.references],
        "pinning": {"server_cores": layout.server, "generator_cores": layout.generator, "pinned": layout.pinned},
        "environment": capture(),
        "cells": [],
        "variants": {},
        "claims": [],
    }


def _cell_record(cell: Cell) -> dict[str, Any]:
    return {
        "id": cell.id,
        "variant": cell.variant,
        "app": cell.app,
        "group": cell.group,
        "setting": cell.setting_label,
        "setting_values": cell.setting,
        "repeat": cell.repeat,
        "server": cell.server.model_dump(),
        "load": cell.load.model_dump(),
    }


def _run_cell(
    cell: Cell,
    scenario: Scenario,
    directory: Path,
    layout: CoreLayout,
    env: dict[str, str],
    port: int | None,
    run_id: str,
    progress: Progress | None,
    services: Services,
) -> dict[str, Any]:
    out = directory / "cells" / cell.id
    out.mkdir(parents=True)
    started = time.monotonic()
    host = cell.server.host
    port = port or free_port(host)
    what = f"variant {cell.variant!r} ({cell.app})"
    sampler = Sampler(cell.id)
    # Per cell: the database sees which variant connects; a fix can size its pool per worker.
    env = {**env, "PGAPPNAME": f"lab-{cell.variant}", "WEB_CONCURRENCY": str(cell.server.workers)}
    python, versions = sys.executable, None
    if cell.server.deps:
        if progress:
            progress.say(
                f"    dependency set {cell.server.deps}: preparing its environment (cached after the first run)"
            )
        python, versions = environments.ensure(cell.server.deps)
        what = f"{what} with {cell.server.deps}"
    server = Server(
        cell.app,
        cell.server,
        port,
        cores=layout.server,
        env=env,
        log=out / "server.log",
        cwd=ROOT,
        what=what,
        python=python,
    )
    upstream = services.upstream
    if upstream is not None:
        upstream.reset()
    with server:
        answers = verify_answers(host, port, scenario.verify, what)
        with sampler:
            sampler.watch("server", server.pid)
            if services.db is not None and services.db.pid is not None:
                sampler.watch("database", services.db.pid)
            if services.monitor is not None:
                sampler.add_probe(services.monitor.read, every_s=0.5)
            for probe in scenario.app_probes:
                sampler.add_probe(_app_probe(host, port, probe), every_s=0.5)
            if upstream is not None and upstream.pid is not None:
                sampler.watch("upstream", upstream.pid)
                sampler.add_probe(upstream.read, every_s=0.5)
            load.run(
                scenario.locustfile,
                cell.load,
                f"http://{host}:{port}",
                out,
                cores=layout.generator,
                env=env,
                on_start=lambda pid: sampler.watch("generator", pid),
                on_tick=progress.tick if progress else lambda _: None,
                on_window=(lambda w: upstream.arm(w["t0"], services.faults)) if upstream and services.faults else None,
            )
        startup_s = server.startup_s
    results.append_samples(directory, sampler.rows)
    left = tagged(run_id, exclude=services.pids())
    if left:
        raise CellError(f"{what}: processes left after the cell: {[p.pid for p in left]}")

    samples = pd.DataFrame(sampler.rows, columns=results.SAMPLE_COLUMNS)
    summary = summarise(
        read_requests(out / "requests.csv"), read_window(out / "window.json"), samples, faults=services.faults
    )
    shared = [summary[k] for k in SERVICE_CPU if summary.get(k) is not None]  # services on Locust's core
    if shared and summary["generator_cpu_pct"] is not None:
        summary["generator_core_cpu_pct"] = round(summary["generator_cpu_pct"] + sum(shared), 2)
        summary["flags"] = flags(summary)
    if not layout.pinned:
        summary["flags"].append("unpinned")
    if sampler.errors:
        summary["sampler_errors"] = sampler.errors
    if progress:
        progress.cell_done(summary)
    return _cell_record(cell) | {
        "status": "ok",
        "error": None,
        "port": port,
        "startup_s": round(startup_s or 0, 3),
        "wall_s": round(time.monotonic() - started, 2),
        "answers": answers,
        "versions": versions,
        "summary": summary,
    }


# Cell-level numbers (not per request) carried into a variant as medians over repeats.
SIDE_METRICS = (
    "server_cpu_pct", "server_rss_mb", "server_rss_mb_peak", "generator_cpu_pct", "database_cpu_pct",
    "generator_core_cpu_pct", "db_connections_peak", "db_connections_mean", "db_idle_in_transaction_peak",
    "db_sessions_opened", "db_sessions_per_request", "db_statements_per_request", "db_too_many_clients",
    "upstream_cpu_pct", "upstream_requests", "upstream_connections_opened", "upstream_connections_per_request",
    "upstream_open_peak", "upstream_time_wait_peak", "upstream_inflight_peak", "recovery_s",
)  # fmt: skip


def _side_metrics(sums: list[dict[str, Any]]) -> list[str]:
    app = sorted({k for s in sums for k in s if k.startswith("app_")})
    return [k for k in SIDE_METRICS if any(k in s for s in sums)] + app


def _app_probe(host: str, port: int, probe: AppProbe) -> Callable[[], dict[str, float]]:
    def read() -> dict[str, float]:
        status, body = get(host, port, probe.path, timeout_s=1.0)
        return {f"app_{probe.name}": float(json.loads(body)[probe.field])} if status == 200 else {}

    return read


def _median(values: list[Any]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def _combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over repeats of one traffic summary (requests, rps, latency...)."""
    out: dict[str, Any] = {k: _median([p[k] for p in parts]) for k in ("requests", "failures", "error_rate", "rps")}
    out["latency_ms"] = {k: _median([p["latency_ms"][k] for p in parts]) for k in parts[0]["latency_ms"]}
    return out


def aggregate(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Per variant (and matrix point): medians across repeats of the cells that were measured."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        if cell["status"] == "ok":
            groups.setdefault(cell["group"], []).append(cell)
    variants = {}
    for group, members in groups.items():
        sums = [m["summary"] for m in members]
        names = sorted({n for s in sums for n in s["by_request"]})
        variants[group] = {
            "variant": members[0]["variant"],
            "app": members[0]["app"],
            "setting": members[0]["setting"],
            "server": members[0]["server"],
            "load": members[0]["load"],
            "repeats": len(members),
            **_combine(sums),
            "by_request": {n: _combine([s["by_request"][n] for s in sums if n in s["by_request"]]) for n in names},
            **{k: _median([s.get(k) for s in sums]) for k in _side_metrics(sums)},
            "flags": sorted({f for s in sums for f in s["flags"]}),
        }
    return variants
