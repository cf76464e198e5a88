"""Commands on recorded runs: reports, compare, slides, the measured table, and what is published."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.cli.common import Subparsers, folders, recorded
from lab.errors import LabError
from lab.paths import RESULTS, ROOT, shown
from lab.record import store
from lab.record.models import RunRecord
from lab.scenario import loading

SCHEMA_FILE = RESULTS / "run.schema.json"
METRIC_TABLES = [ROOT / "docs" / "adding-a-pitfall.md", RESULTS / "README.md"]


def _report(args: argparse.Namespace) -> int:
    from lab import report

    args.results = recorded(args.results)
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
    from lab.report.compare import as_json, render

    args.results = recorded(args.results)
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
    path = compare_page.build(base, base_dir, new, new_dir, args.reports)
    if args.json:
        print(json.dumps({**as_json(base, new), "page": shown(path)}, indent=2))
        return 0
    print(render(base, new))
    print(f"\npage: {shown(path)}")
    return 0


def _slides(args: argparse.Namespace) -> int:
    from lab.report import slides

    args.results = recorded(args.results)
    directory = (
        store.run_dir(args.scenario, args.run, args.results) if args.run else store.latest(args.scenario, args.results)
    )
    if directory is None:
        raise LabError(f"no complete run of {args.scenario}; run `make bench scenario={args.scenario}` first")
    for theme in args.theme.split(","):
        for path in slides.export(args.scenario, directory, args.reports, theme.strip()):
            print(f"wrote {shown(path)}")
    return 0


def _catalogue(args: argparse.Namespace) -> int:
    from lab.report import catalogue

    args.results = recorded(args.results)
    readme = ROOT / "docs" / "measured.md"
    runs = catalogue.behind(args.results)  # read once: the table and its packs are the same runs
    readme.write_text(catalogue.refresh(readme.read_text(), args.results, runs))
    print(f"wrote the measured table of {shown(readme)} from the newest complete runs in {shown(args.results)}")
    if args.results.resolve() == RESULTS.resolve():
        _pack_evidence(runs)
    return 0


def _pack_evidence(runs: dict[str, tuple[RunRecord, list[RunRecord]]]) -> None:
    """Commit-ready packs of the runs behind the table (each measured run with what its report
    draws, each null run's record), and no pack of a run the table no longer uses."""
    from lab.record import evidence

    wanted: set[Path] = set()
    for name, (measured, nulls) in runs.items():
        wanted.add(evidence.pack(store.run_dir(name, measured.run_id), full=True))
        wanted.update(evidence.pack(store.run_dir(name, n.run_id), full=False) for n in nulls)
    for stale in set(evidence.packs()) - wanted:
        stale.unlink()
    size = sum(p.stat().st_size for p in wanted)
    print(f"packed {len(wanted)} runs behind it into {shown(evidence.EVIDENCE)}: {size / 1e6:.1f} MB")


def published() -> dict[Path, str]:
    """Files generated from the record models and the metric registry, with their current text."""
    import json

    from lab import metrics
    from lab.report import pitfalls
    from lab.scenario import reference

    out = {SCHEMA_FILE: json.dumps(store.json_schema(), indent=2) + "\n"}
    for readme in METRIC_TABLES:
        out[readme] = metrics.refresh(readme.read_text())
    readme = ROOT / "README.md"
    out[readme] = pitfalls.refresh(readme.read_text())
    out[ROOT / "docs" / "scenario-reference.md"] = reference.markdown()
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


def add_report(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="(re)build HTML reports from recorded runs")
    p.add_argument("scenario", nargs="?", help="one scenario (default: all with a complete run)")
    p.add_argument("--run", help="a run id (default: the newest complete run)")
    folders(p, results=True, reports=True)
    p.set_defaults(func=_report)


def add_compare(sub: Subparsers) -> None:
    p = sub.add_parser("compare", help="two complete runs of a scenario side by side (regressions)")
    p.add_argument("scenario")
    p.add_argument("--base", help="the older run id (default: the one before --run)")
    p.add_argument("--run", help="the newer run id (default: the newest complete run)")
    p.add_argument("--json", action="store_true", help="the comparison as JSON on stdout")
    p.epilog = (
        "examples: `compare loop-blocking` (its two newest complete runs), `compare loop-blocking --base ID --json`"
    )
    folders(p, results=True, reports=True)
    p.set_defaults(func=_compare)


def add_slides(sub: Subparsers) -> None:
    p = sub.add_parser("slides", help="a run's key charts as PNG and SVG at slide size (needs chromium)")
    p.add_argument("scenario")
    p.add_argument("--run", help="a run id (default: the newest complete run)")
    p.add_argument("--theme", default="light", help="light, dark, or both: light,dark")
    folders(p, results=True, reports=True)
    p.set_defaults(func=_slides)


def add_catalogue(sub: Subparsers) -> None:
    p = sub.add_parser("catalogue", help="README's measured table from the newest default and null-mode runs")
    folders(p, results=True)
    p.set_defaults(func=_catalogue)


def add_schema(sub: Subparsers) -> None:
    p = sub.add_parser("schema", help="publish the run record's JSON Schema and the metric tables")
    p.add_argument("--check", action="store_true", help="only check that what is published is current")
    p.set_defaults(func=_schema)
