"""`lab run`: scenarios run, verdicts printed, reports written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.cli.common import EXIT_CLAIM_FAILED, EXIT_ERROR, EXIT_INTERRUPTED, Subparsers, folders
from lab.drive.generators import Remote
from lab.drive.target import Target
from lab.errors import LabError
from lab.paths import shown
from lab.record import store
from lab.scenario import loading
from lab.scenario.models import Generators, Scenario, generators_value


def _generators(text: str) -> Generators:
    """`--generators`: 'auto' or a whole number of Locust processes."""
    try:
        return generators_value(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _target(args: argparse.Namespace, loaded: list[Scenario]) -> Target | None:
    """`--target`, checked before anything starts: one scenario, loopback unless --allow-remote."""
    from lab.drive import target as targets

    if args.target is None:
        for flag, given in (("--variant", args.variant), ("--allow-remote", args.allow_remote)):
            if given:
                raise LabError(f"{flag} goes with --target URL (a server started elsewhere)")
        return None
    if len(loaded) != 1:
        raise LabError("--target loads one server: name one scenario")
    for flag, given in (("--null", args.null), ("--versions", args.versions), ("--port", args.port)):
        if given:
            raise LabError(f"{flag} needs a server the lab starts; it does not go with --target")
    found = targets.parse(args.target, args.variant, loaded[0], args.allow_remote)
    if found.remote:
        print(f"warning: loading {found.url}, a host that is not this machine (--allow-remote)", file=sys.stderr)
    return found


def _remote(args: argparse.Namespace, found: Target | None) -> Remote | None:
    """`--master-bind ADDR[:PORT] --remote-workers N`: opt-in, both or neither."""
    from lab.drive import generators

    if args.master_bind is None and args.remote_workers is None:
        return None
    if args.master_bind is None or args.remote_workers is None:
        raise LabError("--remote-workers N and --master-bind ADDR[:PORT] go together (workers elsewhere: `lab worker`)")
    remote = generators.remote(args.master_bind, args.remote_workers)
    if not remote.loopback and found is None:
        raise LabError(
            f"--master-bind {args.master_bind}: workers on other hosts cannot reach the server the lab starts on "
            "loopback; load a server they can reach with --target URL --allow-remote"
        )
    if not remote.loopback:
        print(f"warning: the Locust master listens on {remote.host}:{remote.port} for remote workers", file=sys.stderr)
    return remote


def _null(given: str | None, scenario: Scenario) -> str | None:
    """`--null` alone: the scenario's reference variant; `--null NAME`: that variant, which must exist."""
    if given is None:
        return None
    if given and given not in scenario.variants:
        raise LabError(f"--null {given}: {scenario.name} has no such variant; one of {', '.join(scenario.variants)}")
    return given or scenario.reference_variant


def _run(args: argparse.Namespace) -> int:
    from lab import report
    from lab.ci import history
    from lab.drive.runner import RunOptions, run
    from lab.report.terminal import budgets, render

    names = loading.known() if args.all else args.scenarios
    if not names:
        raise LabError("name a scenario (see `make list`) or pass --all")
    loaded = [loading.load(name) for name in names]  # every file is validated before any load runs
    found = _target(args, loaded)
    remote = _remote(args, found)
    status = 0
    for item in loaded:
        versions = [v.strip() for v in args.versions.split(",") if v.strip()] if args.versions else None
        options = RunOptions(
            args.profile,
            args.repeats,
            args.port,
            args.results,
            not args.quiet,
            versions,
            null=_null(args.null, item),
            target=found,
            generators=args.generators,
            keep_going=args.keep_going,
            remote=remote,
        )
        try:
            outcome = run(item, options)
        except LabError as exc:
            if len(loaded) == 1:
                raise
            print(f"error: {item.name}: {exc}", file=sys.stderr)  # the other scenarios still run
            status = EXIT_ERROR
            continue
        except KeyboardInterrupt:
            print(
                f"\ninterrupted: run left as incomplete in {shown(_latest_dir(args.results, item.name))}",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        history.keep(outcome.record, args.results)
        print(flush=True)
        print(render(outcome.record))
        print(budgets(outcome.record))
        print(f"\nrun record: {shown(outcome.directory / 'run.json')}")
        if outcome.record.status == "complete" and not args.no_report and not args.null:
            path = report.build(item.name, outcome.directory, args.reports)
            report.build_index(args.results, args.reports)
            print(f"report:     {shown(path)}")
        if args.strict and any(c.verdict == "fail" for c in outcome.record.claims):
            status = max(status, EXIT_CLAIM_FAILED)
        if outcome.errors:
            status = EXIT_ERROR
            for error in dict.fromkeys(outcome.errors):
                print(f"error: {error}", file=sys.stderr)
    return status


def _latest_dir(root: Path, name: str) -> Path:
    found = store.runs(name, root)
    return found[-1] if found else root / name


def add_run(sub: Subparsers) -> None:
    p = sub.add_parser(
        "run",
        help="run scenarios, print verdicts, write reports",
        epilog="examples: `run loop-blocking` (its default profile: a verdict and a report), `run loop-blocking "
        "--profile quick`, `run myservice --scenarios ../svc/scenarios`, `run loop-blocking --target "
        "http://127.0.0.1:8000 --variant fix_await` (a server started elsewhere)",
    )
    p.add_argument("scenarios", nargs="*", help="scenario names (see `list`) or paths to .toml files")
    p.add_argument("--all", action="store_true", help="every scenario in scenarios/")
    p.add_argument("--profile", default="default", help="load profile in the scenario file (default: default)")
    p.add_argument("--repeats", type=int, help="override the profile's number of repeats")
    p.add_argument("--port", type=int, help="serve on this loopback port instead of a free one")
    p.add_argument(
        "--generators",
        type=_generators,
        metavar="N",
        help="Locust processes (a master and N workers when N > 1), or 'auto': one per generator core "
        "(the default); overrides the profile and the matrix",
    )
    p.add_argument(
        "--versions",
        help="dependency sets to run the server under, comma-separated; specs within a set joined with +, "
        "e.g. 'fastapi==0.129.*,fastapi==0.165.*' (each set gets a cached environment built with uv)",
    )
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="a variant that fails its check before any load (import, start, health, [[verify]]) does not stop "
        "the run: its cells are recorded as failed and the other variants run",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a claim fails (CI); inconclusive never fails")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.add_argument(
        "--null",
        nargs="?",
        const="",
        default=None,
        metavar="VARIANT",
        help="null mode: every variant runs VARIANT's app (A/A; default: the scenario's reference variant)",
    )
    p.add_argument(
        "--target",
        metavar="URL",
        help="load a server started elsewhere (http://HOST:PORT) instead of starting one; the lab starts no "
        "server, database or upstream, and what it cannot sample there is recorded as absent",
    )
    p.add_argument("--variant", help="with --target: the variant the target serves (only its cells run)")
    p.add_argument(
        "--allow-remote", action="store_true", help="with --target: allow a host that is not loopback (warns)"
    )
    p.add_argument(
        "--remote-workers",
        type=int,
        metavar="N",
        help="the generator is N Locust workers started elsewhere with `lab worker --master ADDR[:PORT]`; "
        "needs --master-bind",
    )
    p.add_argument(
        "--master-bind",
        metavar="ADDR[:PORT]",
        help="the address (and port, default 5557) the Locust master listens on for remote workers; a "
        "non-loopback address needs --target with a server those hosts can reach",
    )
    folders(p, results=True, reports=True)
    p.set_defaults(func=_run)


def _worker(args: argparse.Namespace) -> int:
    from lab.drive import generators, worker

    master = generators.remote(args.master, 1)
    if args.processes < 1:
        raise LabError(f"--processes {args.processes}: at least one Locust process")
    if args.for_s <= 0:
        raise LabError(f"--for {args.for_s:g}: a number of seconds above 0")
    locustfile = None
    if args.locustfile:
        locustfile = Path(args.locustfile).resolve()
        if not locustfile.is_file():
            raise LabError(f"--locustfile {args.locustfile}: no such file")
    try:
        served = worker.serve(master.host, master.port, args.processes, locustfile, args.for_s)
    except KeyboardInterrupt:
        print("\ninterrupted: the worker stopped; nothing is left running", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"served {served} Locust runs for {master.host}:{master.port}")
    return 0


def add_worker(sub: Subparsers) -> None:
    p = sub.add_parser(
        "worker",
        help="a Locust worker on this host for a lab run elsewhere (`run --remote-workers N --master-bind ADDR`)",
        epilog="example: `worker --master 10.0.0.5 --processes 4 --locustfile locustfiles/myservice.py`; one "
        "Locust worker after another (a run starts a Locust per step), until --for seconds have passed",
    )
    p.add_argument("--master", required=True, metavar="ADDR[:PORT]", help="the lab's master (default port 5557)")
    p.add_argument("--processes", type=int, default=1, help="Locust worker processes on this host (default 1)")
    p.add_argument(
        "--locustfile",
        help="this host's copy of the scenario's locustfile (default: Locust downloads it from the master, "
        "which works for a locustfile that imports nothing beside it)",
    )
    p.add_argument("--for", dest="for_s", type=float, default=3600.0, metavar="S", help="stop after S seconds")
    p.set_defaults(func=_worker)
