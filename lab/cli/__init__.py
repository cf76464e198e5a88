"""`python -m lab ...`: list, run, report. Thin: each command calls one module."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lab.drive import compose, wrkcheck
from lab.drive.target import Target
from lab.errors import LabError
from lab.paths import REPORTS, RESULTS, ROOT, shown
from lab.record import store
from lab.scenario import loading
from lab.scenario.models import Generators, Scenario, generators_value

SCHEMA_FILE = RESULTS / "run.schema.json"
METRIC_TABLES = [ROOT / "docs" / "adding-a-pitfall.md", RESULTS / "README.md"]

# The runner and the report pull in pandas and plotly (seconds to import): only when used.

EXIT_CLAIM_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _generators(text: str) -> Generators:
    """`--generators`: 'auto' or a whole number of Locust processes."""
    try:
        return generators_value(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _list(_: argparse.Namespace) -> int:
    names = loading.known()
    width = max(map(len, names), default=0)
    for name in names:
        try:
            loaded = loading.load(name)
            print(f"{name:<{width}}  {loaded.title}: {', '.join(loaded.variants)}")
        except LabError as exc:
            print(f"{name:<{width}}  (invalid) {exc}")
    return 0


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
            null=args.null,
            target=found,
            generators=args.generators,
            keep_going=args.keep_going,
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


def _audit(args: argparse.Namespace) -> int:
    from lab.analysis import audit
    from lab.drive.runner import RunOptions, run

    names = args.scenarios or loading.known()
    loaded = [loading.load(name) for name in names]
    found: list[audit.Row] = []
    for item in loaded:
        print(
            f"{item.name}: null mode, {args.profile} profile, every variant runs {item.reference_variant}", flush=True
        )
        outcome = run(item, RunOptions(args.profile, results_root=args.results, progress=False, null=True))
        if outcome.errors:
            raise LabError(f"{item.name}: the null run failed: {outcome.errors[0]}")
        found += audit.rows(outcome.record)
    print()
    print(audit.render(found))
    return EXIT_CLAIM_FAILED if any(r.defect for r in found) else 0


def _baseline(args: argparse.Namespace) -> int:
    from lab.analysis.sequential import Rule
    from lab.ci import baseline, history
    from lab.drive.runner import RunOptions, run

    for name in args.scenarios:
        item = loading.load(name)
        if args.run:
            rec = store.load(store.run_dir(item.name, args.run, args.results))
        else:
            print(f"{item.name}: running its CI profile ({item.ci.profile}) for the baseline", flush=True)
            options = RunOptions(
                item.ci.profile, results_root=args.results, progress=not args.quiet, sequential=Rule.of(item.ci)
            )
            outcome = run(item, options)
            if outcome.errors:
                raise LabError(f"{item.name}: {outcome.errors[0]}")
            rec = outcome.record
            history.keep(rec, args.results)
        path = baseline.save(baseline.from_run(rec), args.baselines)
        verdicts = ", ".join(f"{c.verdict}" for c in rec.claims) or "no claims"
        print(f"wrote {shown(path)} from run {rec.run_id} ({verdicts}); commit it")
    return 0


def _ci(args: argparse.Namespace) -> int:
    """Run each scenario's CI profile, gate it against its baseline, write the CI outputs.
    Exit 0 clean, 1 on a regression, 2 when a scenario could not run."""
    from lab import report
    from lab.analysis.sequential import Rule
    from lab.ci import baseline, history
    from lab.ci import outputs as ci_outputs
    from lab.ci.gate import gate
    from lab.drive.runner import RunOptions, run

    names = args.scenarios or sorted(p.stem for p in args.baselines.glob("*.json"))
    if not names:
        raise LabError(f"no baselines in {shown(args.baselines)}; make one with `make baseline scenario=NAME`")
    gated, could_not_run = [], []
    for name in names:
        try:
            item = loading.load(name)
            base = baseline.load(item.name, args.baselines)
            options = RunOptions(
                item.ci.profile,
                results_root=args.results,
                progress=not args.quiet,
                sequential=Rule.of(item.ci),
            )
            outcome = run(item, options)
            if outcome.errors or outcome.record.status != "complete":
                raise LabError(outcome.errors[0] if outcome.errors else f"run {outcome.record.status}")
        except LabError as exc:
            could_not_run.append(f"{name}: {exc}")
            print(f"error: {name}: {exc}", file=sys.stderr)
            continue
        result = gate(base, outcome.record, item.ci.tolerance, item.ci.gate_absolute)
        gated.append(result)
        history.append(outcome.record, args.results / "history.parquet", [f.what for f in result.regressions])
        report.build(item.name, outcome.directory, args.reports)
    written = ci_outputs.write_all(gated, args.out, could_not_run)
    report.build_index(args.results, args.reports)
    history.trends_page(history.read(args.results / "history.parquet"), args.reports)
    print(ci_outputs.markdown(gated, could_not_run))
    print(f"wrote {', '.join(shown(p) for p in written)} and {shown(args.reports / 'trends.html')}")
    if any(r.regressions for r in gated):
        return EXIT_CLAIM_FAILED
    return EXIT_ERROR if could_not_run else 0


def _slides(args: argparse.Namespace) -> int:
    from lab.report import slides

    directory = (
        store.run_dir(args.scenario, args.run, args.results) if args.run else store.latest(args.scenario, args.results)
    )
    if directory is None:
        raise LabError(f"no complete run of {args.scenario}; run `make bench scenario={args.scenario}` first")
    for theme in args.theme.split(","):
        for path in slides.export(args.scenario, directory, args.reports, theme.strip()):
            print(f"wrote {shown(path)}")
    return 0


def _rejudge(args: argparse.Namespace) -> int:
    """Judge a complete run's claims again with this lab's claim code, from its recorded cells and the
    claims as the record declares them (never the scenario file, which may have moved on)."""
    from lab.analysis.claims import CONFIDENCE, declared, evaluate
    from lab.drive.machine import lab_commit

    names = args.scenarios or loading.known()
    for name in names:
        directory = store.run_dir(name, args.run, args.results) if args.run else store.latest(name, args.results)
        if directory is None:
            print(f"{name}: no complete run")
            continue
        rec = store.load(directory)
        confidence = rec.sequential.confidence if rec.sequential else CONFIDENCE
        claims = evaluate(declared(rec), rec.ok_cells(), rec.load.min_repeats, confidence)
        changed = [
            (a.verdict, b.verdict, b.text) for a, b in zip(rec.claims, claims, strict=False) if a.verdict != b.verdict
        ]
        rec.claims, rec.rejudged_by = claims, lab_commit()
        store.write(directory, rec)
        print(f"{name} {rec.run_id}: {len(claims)} claims judged again; changed: {changed or 'none'}")
    return 0


def _catalogue(args: argparse.Namespace) -> int:
    from lab.report import catalogue

    readme = ROOT / "docs" / "measured.md"
    readme.write_text(catalogue.refresh(readme.read_text(), args.results))
    print(f"wrote the measured table of {shown(readme)} from the newest complete runs in {shown(args.results)}")
    return 0


def _latest_dir(root: Path, name: str) -> Path:
    found = store.runs(name, root)
    return found[-1] if found else root / name


def _report(args: argparse.Namespace) -> int:
    from lab import report

    names = [args.scenario] if args.scenario else loading.known()
    for name in names:
        loading.resolve(name)  # unknown names fail with the list of known ones
        if args.run:
            directory = store.run_dir(name, args.run, args.results)
            if not (directory / "run.json").is_file():
                raise LabError(
                    f"no run {args.run!r} of {name}; runs: "
                    f"{', '.join(p.name for p in store.runs(name, args.results)) or '(none)'}"
                )
        else:
            found = store.latest(name, args.results)
            if found is None:
                if args.scenario:
                    raise LabError(f"no complete run of {name} yet; run `make bench scenario={name}` first")
                continue
            directory = found
        print(f"{name}: {shown(report.build(name, directory, args.reports))}")
    print(f"index: {shown(report.build_index(args.results, args.reports))}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from lab.report import compare_page
    from lab.report.compare import render

    loading.resolve(args.scenario)
    complete = [p for p in store.runs(args.scenario, args.results) if store.load(p).status == "complete"]
    ids = [p.name for p in complete]
    for run_id in (args.base, args.run):
        if run_id and run_id not in ids:
            raise LabError(
                f"no complete run {run_id!r} of {args.scenario}; complete runs: {', '.join(ids) or '(none)'}"
            )
    new_id = args.run or (ids[-1] if ids else None)
    older = [i for i in ids if new_id is None or i < new_id]
    base_id = args.base or (older[-1] if older else None)
    if new_id is None or base_id is None:
        raise LabError(f"compare needs two complete runs of {args.scenario}; it has {len(ids)}")
    base_dir = store.run_dir(args.scenario, base_id, args.results)
    new_dir = store.run_dir(args.scenario, new_id, args.results)
    base, new = store.load(base_dir), store.load(new_dir)
    print(render(base, new))
    path = compare_page.build(base, base_dir, new, new_dir, args.reports)
    print(f"\npage: {shown(path)}")
    return 0


def published() -> dict[Path, str]:
    """Files generated from the record models and the metric registry, with their current text."""
    import json

    from lab import metrics

    out = {SCHEMA_FILE: json.dumps(store.json_schema(), indent=2) + "\n"}
    for readme in METRIC_TABLES:
        out[readme] = metrics.refresh(readme.read_text())
    return out


def _schema(args: argparse.Namespace) -> int:
    for path, text in published().items():
        current = path.read_text() if path.is_file() else ""
        if current == text:
            print(f"{shown(path)} is up to date")
        elif args.check:
            raise LabError(
                f"{shown(path)} is out of date with lab/record/models.py or lab/metrics.py; run `python -m lab schema`"
            )
        else:
            path.write_text(text)
            print(f"wrote {shown(path)}")
    return 0


def _compose_env(args: argparse.Namespace) -> int:
    """Write the settings and print what `make up` starts and where."""
    loaded = loading.load(args.scenario)
    stack = compose.write(loaded, args.variant, args.network, args.free_ports)
    s = stack.settings
    print(f"settings: {shown(stack.env_file)}")
    print(f"  app       {s['APP']} on {s['SERVER']} x{s['WORKERS']} -> {stack.app_url}  (cpus {s['LAB_SERVER_CPUS']})")
    print(f"  postgres  max_connections={s['PG_MAX_CONNECTIONS']} -> {stack.database_url}")
    print(f"  upstream  -> http://127.0.0.1:{s['UPSTREAM_PORT']} (control {s['UPSTREAM_CONTROL_PORT']})")
    print(
        f"  locust    web UI http://127.0.0.1:{s['LOCUST_WEB_PORT']} (with load=N workers; cpus {s['LAB_GENERATOR_CPUS']})"
    )
    print(
        f"  the lab's load: DATABASE_URL={stack.database_url} UPSTREAM_CONTROL_URL={stack.upstream_control_url} "
        f"lab run {loaded.name} --target {stack.app_url} --variant {args.variant}"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="scenarios with one-line descriptions").set_defaults(func=_list)

    p = sub.add_parser("run", help="run scenarios, print verdicts, write reports")
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
        "--null", action="store_true", help="null mode: every variant runs the reference variant's app (A/A)"
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
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR", help="reports folder (default: reports/)")
    p.set_defaults(func=_run)

    p = sub.add_parser("audit", help="null mode for every scenario: which claims pass when bad == fix (exit 1)")
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--profile", default="quick", help="load profile (default: quick)")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.set_defaults(func=_audit)

    p = sub.add_parser("compare", help="two complete runs of a scenario side by side (regressions)")
    p.add_argument("scenario")
    p.add_argument("--base", help="the older run id (default: the one before --run)")
    p.add_argument("--run", help="the newer run id (default: the newest complete run)")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR", help="reports folder (default: reports/)")
    p.set_defaults(func=_compare)

    p = sub.add_parser("report", help="(re)build HTML reports from recorded runs")
    p.add_argument("scenario", nargs="?", help="one scenario (default: all with a complete run)")
    p.add_argument("--run", help="a run id (default: the newest complete run)")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR", help="reports folder (default: reports/)")
    p.set_defaults(func=_report)

    p = sub.add_parser("catalogue", help="README's measured table from the newest default and null-mode runs")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.set_defaults(func=_catalogue)

    p = sub.add_parser("baseline", help="store a scenario's CI-profile run as its committed baseline")
    p.add_argument("scenarios", nargs="+", help="scenario names")
    p.add_argument("--run", help="take this complete run instead of running the CI profile now")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.add_argument(
        "--baselines", type=Path, default=RESULTS / "baselines", metavar="DIR", help="default: results/baselines/"
    )
    p.set_defaults(func=_baseline)

    p = sub.add_parser("ci", help="CI gate: run CI profiles, compare with baselines (exit 0 ok, 1 regression, 2 error)")
    p.add_argument("scenarios", nargs="*", help="scenario names (default: every one with a baseline)")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR", help="reports folder (default: reports/)")
    p.add_argument(
        "--baselines", type=Path, default=RESULTS / "baselines", metavar="DIR", help="default: results/baselines/"
    )
    p.add_argument("--out", type=Path, default=RESULTS / "ci", metavar="DIR", help="CI outputs (default: results/ci/)")
    p.set_defaults(func=_ci)

    p = sub.add_parser("rejudge", help="judge complete runs' claims again with this lab's claim code")
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--run", help="a run id (default: the newest complete run)")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.set_defaults(func=_rejudge)

    p = sub.add_parser("slides", help="a run's key charts as PNG and SVG at slide size (needs chromium)")
    p.add_argument("scenario")
    p.add_argument("--run", help="a run id (default: the newest complete run)")
    p.add_argument("--theme", default="light", help="light, dark, or both: light,dark")
    p.add_argument("--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)")
    p.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR", help="reports folder (default: reports/)")
    p.set_defaults(func=_slides)

    p = sub.add_parser("wrk-check", help="benchmark: the open model's achieved maximum against wrk's (needs wrk)")
    p.set_defaults(func=lambda _: wrkcheck.main())

    p = sub.add_parser("compose-env", help="the compose stack's settings for one variant of a scenario (make up)")
    p.add_argument("scenario")
    p.add_argument("--variant", required=True, help="the variant the stack's app serves")
    p.add_argument("--network", choices=["bridge", "host"], default="bridge", help="compose network or the host's")
    p.add_argument("--free-ports", action="store_true", help="free loopback ports instead of the defaults")
    p.set_defaults(func=_compose_env)

    p = sub.add_parser("serve", help="the app container's command: APP served as SERVER, WORKERS, LOOP, HTTP")
    p.set_defaults(func=lambda _: compose.serve())

    p = sub.add_parser("schema", help="publish the run record's JSON Schema and the metric tables")
    p.add_argument("--check", action="store_true", help="only check that what is published is current")
    p.set_defaults(func=_schema)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `lab list | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
