"""Run a plan: for each cell, server up -> verify -> load + samplers -> server down -> summary.

Orchestration only: the record is built by lab/record/, numbers by lab/analysis/, claims by
lab/analysis/claims.py, services by lab/drive/services/. The runner owns every process it starts. Whatever
happens (a failed cell, Ctrl-C, SIGTERM, a crash), every process tagged with the run id is gone
when `run` returns or raises, and run.json says whether the run is `complete`, `incomplete` or
`failed`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from lab.analysis import sequential, steps, sweep
from lab.analysis.cell import ledger
from lab.analysis.claims import CONFIDENCE, evaluate, min_samples
from lab.analysis.repeats import aggregate
from lab.analysis.sequential import Rule
from lab.drive import depsets, generators, load, services
from lab.drive.checks import verify_answers
from lab.drive.generators import Remote
from lab.drive.machine import capture
from lab.drive.machine import state as machine_state
from lab.drive.processes import (
    CAN_PIN,
    NO_PINNING,
    OWNER_TAG,
    RUN_TAG,
    CoreLayout,
    available_cores,
    core_layout,
    free_port,
    kill_orphans,
    kill_tagged,
    port_in_use,
    remove_dead_scratch,
    tagged,
)
from lab.drive.progress import Progress
from lab.drive.proxy import Proxy
from lab.drive.sampling import Sampler, app_probe, cores_probe, mechanism_probe
from lab.drive.servers import Server, server_python
from lab.drive.target import External, Target
from lab.errors import CellError, LabError
from lab.paths import RESULTS, ROOT
from lab.record import store
from lab.record.models import Affinity, CellRecord, CellSummary, Pinning, RunRecord, Sequential, ServerExit
from lab.record.raw import StepFiles
from lab.record.window import Window
from lab.scenario import versions
from lab.scenario.models import Claim, Generators, Scenario, Slo
from lab.scenario.plan import Cell, expand


@dataclass
class RunOptions:
    profile: str = "default"
    repeats: int | None = None
    port: int | None = None
    results_root: Path = RESULTS
    progress: bool = True
    versions: list[str] | None = None
    null: str | None = None  # every variant runs this variant's app (null mode, lab/analysis/audit.py)
    # Repeats up to the rule's maximum, stopping once every claim is decided (lab/analysis/sequential.py).
    sequential: Rule | None = None
    target: Target | None = None  # load a server started elsewhere; only its variant's cells run
    generators: Generators | None = None  # Locust processes, over the profile's and the matrix's
    # A variant that fails its check before any load (import, start, health, [[verify]]) stops the
    # run; with keep_going its cells are recorded as failed and the other variants still run.
    keep_going: bool = False
    # Each repeat runs its variants in an order drawn from this seed (base against head: neither
    # side always goes first); None: the scenario's order, interleaved.
    shuffle: int | None = None
    # The generator is Locust workers on other hosts (`lab worker --master`), not processes forked here.
    remote: Remote | None = None


@dataclass
class Outcome:
    directory: Path
    record: RunRecord
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CellContext:
    """What every cell of a run shares."""

    scenario: Scenario
    directory: Path
    layout: CoreLayout
    env: dict[str, str]
    port: int | None
    run_id: str
    progress: Progress | None
    services: services.Services
    # Capacity per (repeat, matrix point, variant) of the cells run so far: `at_rate` claims' rates.
    capacities: dict[tuple[int, str, str], float] = field(default_factory=dict)
    target: Target | None = None  # a server started elsewhere (lab/drive/target.py)
    remote: Remote | None = None  # workers on other hosts


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # A terminated run must clean up exactly like an interrupted one.
    raise KeyboardInterrupt


def run(scenario: Scenario, options: RunOptions) -> Outcome:
    load.require_locust()
    for spec in options.versions or []:
        versions.parse(spec)  # a malformed set fails here, before anything starts
    rule = options.sequential
    repeats = rule.max_repeats if rule else options.repeats
    cells = expand(
        scenario, options.profile, repeats, options.versions, options.null, options.generators, options.shuffle
    )
    if options.target is not None:
        cells = [c for c in cells if c.variant == options.target.variant]
    layout = core_layout(scenario.pinning.server, scenario.pinning.generator)
    if options.port is not None and port_in_use(scenario.server.host, options.port):
        raise LabError(f"port {options.port} on {scenario.server.host} is taken; free it or choose another --port")

    run_id = store.new_run_id()
    directory = store.run_dir(scenario.name, run_id, options.results_root)
    directory.mkdir(parents=True)
    pinning = Pinning(server_cores=layout.server, generator_cores=layout.generator, pinned=layout.pinned)
    rec = store.new_run(scenario, options.profile, run_id, pinning, capture(), options.versions)
    rec.null_mode, rec.reference = options.null is not None, options.null or scenario.reference_variant
    rec.target = options.target.url if options.target else None
    rec.variant_roots = dict(scenario.variant_roots)
    rec.load = cells[0].load if cells else rec.load  # with --repeats, what actually ran
    confidence = CONFIDENCE
    if rule:
        rec.load = rec.load.model_copy(update={"min_repeats": rule.min_repeats})
        confidence = rule.confidence
        rec.sequential = Sequential(
            min_repeats=rule.min_repeats, max_repeats=rule.max_repeats, confidence=round(confidence, 6)
        )
    rec.environment.machine = machine_state(sorted({*layout.server, *layout.generator}))
    store.write(directory, rec)
    outcome = Outcome(directory, rec)
    progress = Progress(cells) if options.progress else None
    env = {**os.environ, RUN_TAG: run_id, OWNER_TAG: str(os.getpid()), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    orphans, scratch = kill_orphans(), remove_dead_scratch()
    if (orphans or scratch) and progress:
        progress.say(
            f"cleaned up after an earlier run whose harness died: {len(orphans)} processes killed, "
            f"{len(scratch)} scratch folders removed"
        )

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    # The harness (its sampling threads) keeps off the server's core too.
    own_cores = available_cores()
    if layout.pinned:
        os.sched_setaffinity(0, layout.generator)
    elif not CAN_PIN and progress:
        progress.say(NO_PINNING)
    try:
        with ExitStack() as stack:
            # A target brings its own database and upstream: the lab starts none for it (it samples
            # and seeds the target's database when DATABASE_URL names it).
            shared = services.start(
                scenario, options.profile, run_id, directory, layout.generator, env, stack, target=bool(options.target)
            )
            rec.database, rec.upstream = shared.database, shared.upstream
            if shared.database is not None:
                rec.environment.postgres = shared.database.server_version
            store.write(directory, rec)
            context = CellContext(
                scenario,
                directory,
                layout,
                env | shared.env,
                options.port,
                run_id,
                progress,
                shared,
                target=options.target,
                remote=options.remote,
            )
            broken = _preflight(cells, context)
            if broken and not options.keep_going:
                outcome.errors += list(dict.fromkeys(broken.values()))
                rec.cells += [
                    store.new_cell(c, "failed", error=broken[c.variant]) for c in cells if c.variant in broken
                ]
                cells = []
            for index, cell in enumerate(cells):
                if progress:
                    progress.cell_start(index, cell)
                try:
                    if cell.variant in broken:
                        raise CellError(broken[cell.variant])
                    cell_record = _run_cell(cell, context)
                except CellError as exc:
                    outcome.errors.append(str(exc))
                    cell_record = store.new_cell(cell, "failed", error=str(exc))
                    if progress:
                        progress.say(f"    error: {exc}")
                rec.cells.append(cell_record)
                rec.variants = aggregate(rec.cells)
                store.write(directory, rec)
                if rule and _look(rule, rec, cells, index, scenario, progress):
                    break
        rec.claims = evaluate(scenario.claims, rec.ok_cells(), rec.load.min_repeats, confidence)
        if rec.sequential:
            rec.sequential.repeats_run = max((c.repeat for c in rec.cells), default=0)
            rec.sequential.undecided = [
                c.text + (f" [{c.setting}]" if c.setting else "") for c in sequential.undecided(rec.claims)
            ]
        rec.status = "failed" if outcome.errors else "complete"
        rec.error = outcome.errors[0] if outcome.errors else None
    except KeyboardInterrupt:
        rec.status, rec.error = "incomplete", "interrupted (Ctrl-C or SIGTERM) before the plan finished"
        raise
    except BaseException as exc:
        rec.status, rec.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if CAN_PIN:
            os.sched_setaffinity(0, own_cores)
        left = kill_tagged(run_id)
        if left:
            rec.left_behind_pids = left
            if rec.status == "complete":
                rec.status, rec.error = "failed", f"processes left behind and killed: {left}"
        rec.finished_at = store.now()
        rec.wall_s = round(time.monotonic() - started, 2)
        store.write(directory, rec)
    return outcome


def _look(
    rule: Rule,
    rec: RunRecord,
    cells: Sequence[Cell],
    index: int,
    scenario: Scenario,
    progress: Progress | None,
) -> bool:
    """At the end of a repeat the rule looks at: whether every claim is decided, so the run stops."""
    cell, later = cells[index], cells[index + 1 :]
    if not later or later[0].repeat == cell.repeat or not rule.looks_after(cell.repeat):
        return False
    if not sequential.decided(sequential.judge(scenario.claims, rec.ok_cells(), rule)):
        return False
    assert rec.sequential is not None
    rec.sequential.stopped_early = True
    rec.sequential.saved_s = sequential.saved_s(rec.cells, later)
    if progress:
        progress.say(
            f"every claim decided after repeat {cell.repeat} of at most {rule.max_repeats} "
            f"({rule.confidence:.2%} intervals): stopping, ~{rec.sequential.saved_s:.0f} s saved"
        )
    return True


def _run_cell(cell: Cell, ctx: CellContext) -> CellRecord:
    out = ctx.directory / "cells" / cell.id
    out.mkdir(parents=True)
    started = time.monotonic()
    host = ctx.target.host if ctx.target else cell.server.host
    port = ctx.target.port if ctx.target else ctx.port or free_port(host)
    what = f"variant {cell.variant!r} ({cell.app})" if not ctx.target else f"the target {ctx.target.url}"
    sampler = Sampler(cell.id)
    # Per cell: the database sees which variant connects; a fix can size its pool per worker.
    env = {**ctx.env, "PGAPPNAME": f"lab-{cell.variant}", "WEB_CONCURRENCY": str(cell.server.workers)}
    if ctx.scenario.mechanism:
        env["LAB_MECHANISM"] = "1"
    python, installed = server_python(cell.server.python), None
    cwd = app_root(cell)
    env["PYTHONPATH"] = str(cwd)
    if cell.server.deps:
        if ctx.progress:
            ctx.progress.say(
                f"    dependency set {cell.server.deps}: preparing its environment (cached after the first run)"
            )
        python, installed = depsets.ensure(cell.server.deps)
        what = f"{what} with {cell.server.deps}"
    log = out / "server.log"
    server: Server | External = (
        External(ctx.target)
        if ctx.target
        else Server(
            cell.app, cell.server, port, cores=ctx.layout.server, env=env, log=log, cwd=cwd, what=what, python=python
        )
    )
    ctx.services.before_cell()
    proxied = cell.proxy if ctx.target is None else None
    with server, ExitStack() as front:
        answers = verify_answers(host, port, ctx.scenario.verify, what)
        # nginx in front: started once the app answers, stopped before it; the load goes to nginx.
        proxy = None
        if proxied is not None:
            proxy = front.enter_context(
                Proxy(proxied, port, cores=ctx.layout.server, env=env, folder=out, health=cell.server.health)
            )
        load_port = proxy.port if proxy is not None else port
        with sampler:
            if server.pid is not None:  # a target's server is not the lab's to sample: absent, never zero
                sampler.watch("server", server.pid)
            if proxy is not None and proxy.pid is not None:
                sampler.watch("proxy", proxy.pid)
            roles = {"server": ctx.layout.server, "generator": ctx.layout.generator} if ctx.layout.pinned else {}
            if ctx.target:
                roles.pop("server", None)
            sampler.add_probe(cores_probe(roles), every_s=1.0, first_in=1.0)
            ctx.services.watch(sampler)
            for probe in ctx.scenario.app_probes:
                sampler.add_probe(app_probe(host, port, probe), every_s=0.5)
            if ctx.scenario.mechanism:
                sampler.add_probe(mechanism_probe(host, port), every_s=0.5)
            files: list[StepFiles] = []  # each Locust run of the cell, read once
            points: list[CellSummary] = []  # each one's summary, judged as it ends
            processes = generators.count(cell.load.generators, ctx.layout.generator, cell.load.model, cell.load.users)
            if ctx.remote is not None:
                processes = ctx.remote.count
            slo = ctx.scenario.slo if cell.load.model == "open" else None
            confidence = cell.load.decide_confidence
            while True:
                step_load, folder, tag = cell.load, out, ""
                if cell.load.model == "open":
                    rate = sweep.next_rate(cell.load, steps.judged_steps(points))
                    if rate is None:
                        extra = _fraction_step(cell, ctx, points, {p.tag for p in points})
                        if extra is None:
                            break
                        rate, tag = extra
                    warmup = cell.load.warmup_s if not files else cell.load.settle_s
                    duration = cell.load.duration_s
                    claimed = tag or rate in {c.at_rps for c in ctx.scenario.claims}
                    if cell.load.claimed_duration_s and claimed:
                        duration = cell.load.claimed_duration_s
                    step_load = cell.load.model_copy(update={"rate": rate, "warmup_s": warmup, "duration_s": duration})
                    folder = out / (f"rate-{rate:g}" + ("-at-fraction" if tag else ""))
                    folder.mkdir()
                    if ctx.progress:
                        why = f" ({tag})" if tag else ""
                        ctx.progress.say(f"    {rate:g} req/s offered{why} (open model, {cell.load.arrivals} arrivals)")
                generator_cores = load.run(
                    ctx.scenario.locustfile,
                    step_load,
                    f"http://{host}:{load_port}",
                    folder,
                    cores=ctx.layout.generator,
                    env=env,
                    on_start=lambda pid: sampler.watch("generator", pid),
                    on_tick=ctx.progress.tick if ctx.progress else lambda _: None,
                    on_window=(lambda w: _load_started(w, ctx, server, sampler)) if not files else None,
                    seed=cell.repeat * 1000 + len(files),
                    processes=processes,
                    remote=ctx.remote,
                    bounds=steps.bounds_spec(slo),
                    decided=_decider(slo, confidence, _claim_samples(ctx.scenario.claims, step_load.rate, tag))
                    if slo is not None and cell.load.max_duration_s
                    else None,
                )
                step = StepFiles.read(folder)
                files.append(step)
                affinity = Affinity(
                    server=server.affinity,
                    generator=generator_cores,
                    as_requested=(ctx.target is not None or server.affinity == sorted(ctx.layout.server))
                    and generator_cores == sorted(ctx.layout.generator),
                    generator_processes=processes,
                    remote_master=f"{ctx.remote.host}:{ctx.remote.port}" if ctx.remote else None,
                )
                point = steps.summarise_step(
                    step,
                    step_load,
                    _samples_past(sampler, step),
                    faults=ctx.services.faults,
                    pinned=ctx.layout.pinned and affinity.as_requested,
                    sampler_errors=sampler.errors,
                    # workers elsewhere run on cores of their own, which this host cannot count
                    generator_cores=len(ctx.layout.generator) if ctx.remote is None else 0,
                    tag=tag,
                )
                points.append(point)
                if cell.load.model == "closed":
                    break
                result = steps.judge(point, ctx.scenario.slo, step, confidence)
                if ctx.progress:
                    ctx.progress.cell_done(
                        point, f"{result}{': ' + '; '.join(point.slo_misses) if point.slo_misses else ''}"
                    )
            server.check_restart()
            confirmed = [key for step in files for key in step.confirmed_keys]
            if confirmed:
                _settle(ctx)
        proxy_errors = proxy.errors() if proxy is not None else {}
        proxy_log = proxy.excerpt() if proxy is not None else []
    store.append_samples(ctx.directory, sampler.rows)
    left = tagged(ctx.run_id, exclude=ctx.services.pids())
    if left:
        raise CellError(f"{what}: processes left after the cell: {[p.pid for p in left]}")

    bound = None
    if cell.load.model == "open":
        summary, bound = steps.open_cell(points, files, cell.variant, ctx.scenario)
        capacity = summary.value("capacity")
        if capacity is not None and bound == "exact":
            ctx.capacities[(cell.repeat, cell.setting_label, cell.variant)] = capacity
    else:
        summary, points = points[0], []
    for name, count in proxy_errors.items():
        summary.set_metric(name, count)
    if confirmed and ctx.services.upstream_service is not None:
        # Read after the server stopped: what a graceful stop still delivered counts as delivered.
        for name, value in ledger(confirmed, ctx.services.upstream_service.taken_keys()).items():
            summary.set_metric(name, value)
    if ctx.progress and not points:
        ctx.progress.cell_done(summary)
    return store.new_cell(
        cell,
        port=port,
        startup_s=round(server.startup_s, 3) if server.startup_s is not None else None,
        wall_s=round(time.monotonic() - started, 2),
        answers=answers,
        versions=installed,
        affinity=affinity,
        server_exit=ServerExit(code=server.stopped.code, killed=server.stopped.killed, grace_s=cell.server.stop_grace_s)
        if server.stopped is not None
        else None,
        restarts=server.restarts,
        summary=summary,
        points=points,
        capacity_bound=bound,
        proxy_log=proxy_log,
    )


def app_root(cell: Cell) -> Path:
    """Where a cell's app is imported from: its variant's root (another checkout), else the project's."""
    return ROOT / cell.root if cell.root else ROOT  # an absolute root replaces ROOT in the join


def _preflight(cells: Sequence[Cell], ctx: CellContext) -> dict[str, str]:
    """Every variant started once and checked (import, start, health, [[verify]]) before any load,
    so a misspelt module fails the run in seconds rather than after the other variants' minutes.
    Returns the variants that failed, with why. A target is checked in its own cell; a dependency
    set's environment is built, and may fail, in its own cells only."""
    if ctx.target is not None:
        return {}
    broken: dict[str, str] = {}
    first: dict[str, Cell] = {}
    for c in cells:
        if not c.server.deps:
            first.setdefault(c.variant, c)
    folder = ctx.directory / "preflight"
    for variant, cell in first.items():
        folder.mkdir(exist_ok=True)
        port = ctx.port or free_port(cell.server.host)
        what = f"variant {variant!r} ({cell.app})"
        if ctx.progress:
            ctx.progress.say(f"checking {what} before any load")
        server = Server(
            cell.app,
            cell.server,
            port,
            cores=ctx.layout.server,
            env={
                **ctx.env,
                "PGAPPNAME": f"lab-{variant}",
                "WEB_CONCURRENCY": str(cell.server.workers),
                "PYTHONPATH": str(app_root(cell)),
            },
            log=folder / f"{variant}.log",
            cwd=app_root(cell),
            what=what,
            python=server_python(cell.server.python),
        )
        try:
            with server:
                verify_answers(cell.server.host, port, ctx.scenario.verify, what)
        except CellError as exc:
            broken[variant] = str(exc)
    return broken


def _load_started(window: Window, ctx: CellContext, server: Server | External, sampler: Sampler) -> None:
    """The load's clock has started: fault windows and the server's restart count from now."""
    ctx.services.on_window(window)
    server.schedule_restart(window.t0, on_restart=lambda pid: sampler.watch("server", pid))


SETTLE_MAX_S, SETTLE_QUIET_S = 15.0, 1.0


def _settle(ctx: CellContext) -> None:
    """Before the server stops: wait until the upstream has taken no write for a second (at most
    15 s), so work queued after the answer (a task, an outbox) is delivered rather than counted
    lost when the lab's own stop would have been what interrupted it."""
    upstream = ctx.services.upstream_service
    if upstream is None:
        return
    deadline, last, quiet_since = time.monotonic() + SETTLE_MAX_S, -1, time.monotonic()
    while time.monotonic() < deadline:
        taken = int(upstream.control("GET", "/stats")["requests"])
        if taken != last:
            last, quiet_since = taken, time.monotonic()
        elif time.monotonic() - quiet_since >= SETTLE_QUIET_S:
            return
        time.sleep(0.1)


def _fraction_step(cell: Cell, ctx: CellContext, points: list[CellSummary], ran: set[str]) -> tuple[float, str] | None:
    """The next step an `at_rate` claim needs in this cell: a fraction of its `of` variant's capacity
    in this repeat (this cell's own, just measured, when it is that variant)."""
    for claim in ctx.scenario.claims:
        tag = claim.at_tag
        if tag is None or tag in ran or claim.of is None:
            continue
        if claim.of == cell.variant:
            capacity, bound = sweep.capacity(steps.judged_steps(points))
            capacity = capacity if bound == "exact" else None  # a bound is no base for a fraction
        else:
            capacity = ctx.capacities.get((cell.repeat, cell.setting_label, claim.of))
        if capacity and claim.at_rate is not None:
            return float(f"{claim.at_rate * capacity:.3g}"), tag
    return None


def _claim_samples(claims: Sequence[Claim], rate: float | None, tag: str) -> int:
    """Arrivals the claims judged at this step need for their percentiles (0: none judged here)."""
    here = [c for c in claims if (tag and c.at_tag == tag) or (not tag and rate is not None and c.at_rps == rate)]
    return max((min_samples(c.metric) for c in here), default=0)


def _decider(slo: Slo, confidence: float, arrivals: int) -> Callable[[dict[str, Any]], bool]:
    """When a running step may end: its SLO decided, and enough arrivals for the claims judged there."""

    def decided(progress: dict[str, Any]) -> bool:
        counts = progress.get("slo") or {}
        enough = all(int(n) >= arrivals for n, _ in counts.values()) if counts else arrivals == 0
        return enough and steps.decided(progress, slo, confidence)

    return decided


SAMPLE_PAST_S = 1.5


def _samples_past(sampler: Sampler, step: StepFiles) -> pd.DataFrame:
    """The samples so far, once the sampler has read past the step's window (at most 1.5 s): a
    counter is read at the window's edges, interpolated between the samples on either side."""
    end = step.window.t0 + step.window.measured_end_s
    deadline = time.monotonic() + SAMPLE_PAST_S
    while time.monotonic() < deadline and not any(row[0] > end for row in sampler.rows[-50:]):
        time.sleep(0.05)
    return pd.DataFrame(sampler.rows[:], columns=store.SAMPLE_COLUMNS)
