"""`lab baseline` and `lab ci`: committed baselines and the CI gate against them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.cli.common import EXIT_CLAIM_FAILED, EXIT_ERROR, Subparsers, folders
from lab.errors import LabError
from lab.paths import RESULTS, shown
from lab.record import store
from lab.scenario import loading

if TYPE_CHECKING:
    from lab.drive.runner import Outcome, RunOptions
    from lab.scenario.models import Scenario


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
    from lab.drive.runner import RunOptions

    if args.base is not None:
        return _versus(args)
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
                progress=not (args.quiet or args.json),
                sequential=Rule.of(item.ci),
            )
            outcome = _complete(item, options)
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
    _summary(args, gated, could_not_run, [*written, args.reports / "trends.html"])
    if any(r.regressions for r in gated):
        return EXIT_CLAIM_FAILED
    return EXIT_ERROR if could_not_run else 0


def _complete(item: Scenario, options: RunOptions) -> Outcome:
    """A gated run that finished whole, or a LabError saying why it did not (the gate cannot judge it)."""
    from lab.drive.runner import run

    outcome = run(item, options)
    if outcome.errors or outcome.record.status != "complete":
        raise LabError(outcome.errors[0] if outcome.errors else f"run {outcome.record.status}")
    return outcome


def _summary(args: argparse.Namespace, gated: list[Any], could_not_run: list[str], written: list[Path]) -> None:
    """The gate's summary on stdout: Markdown, or gate.json's content with --json (the rest to stderr)."""
    from lab.ci import outputs as ci_outputs

    if args.json:
        print(ci_outputs.as_json(gated, could_not_run))
        print(f"wrote {', '.join(shown(p) for p in written)}", file=sys.stderr)
    else:
        print(ci_outputs.markdown(gated, could_not_run))
        print(f"wrote {', '.join(shown(p) for p in written)}")


def _versus(args: argparse.Namespace) -> int:
    """`lab ci --base REF`: base and head in one run per scenario, on this runner, gated on head / base."""
    import random

    from lab import report
    from lab.analysis.sequential import Rule
    from lab.ci import outputs as ci_outputs
    from lab.ci import versus
    from lab.drive.runner import RunOptions

    names = args.scenarios or loading.known()
    if not names:
        raise LabError("no scenarios to run; name them, or give --scenarios DIR")
    items = [loading.load(name) for name in names]  # a bad file fails before the worktree is made
    base = versus.checkout(args.base)
    commit, dirty = versus.head()
    talk = sys.stderr if args.json else sys.stdout
    print(versus.describe(base, commit, dirty), file=talk, flush=True)
    for line in versus.runner_check():
        print(line, file=talk, flush=True)
    gated, could_not_run = [], []
    results, reports = args.results / "versus", args.reports / "versus"
    for item in items:
        profile = args.profile or item.ci.profile
        try:
            paired = versus.paired(item, base, profile, item.ci.rate, item.ci.tolerance)
            options = RunOptions(
                profile,
                results_root=results,
                progress=not (args.quiet or args.json),
                sequential=Rule.of(item.ci),
                shuffle=random.SystemRandom().randrange(2**31),
            )
            outcome = _complete(paired, options)
        except LabError as exc:
            could_not_run.append(f"{item.name}: {exc}")
            print(f"error: {item.name}: {exc}", file=sys.stderr)
            continue
        gated.append(versus.gate(paired, outcome.record, base, item.ci.tolerance))
        report.build(item.name, outcome.directory, reports)
    written = ci_outputs.write_all(gated, args.out, could_not_run)
    _summary(args, gated, could_not_run, [*written, reports])
    if any(r.regressions for r in gated):
        return EXIT_CLAIM_FAILED
    return EXIT_ERROR if could_not_run else 0


def _calibrate(args: argparse.Namespace) -> int:
    """A/A: one null run of many repeats per scenario, then trials that gate half against half."""
    import json

    from lab.ci.calibrate import calibrate
    from lab.drive.runner import RunOptions, run
    from lab.paths import write_atomic

    out = args.results / "calibration"
    for name in args.scenarios:
        item = loading.load(name)
        if args.run:
            rec = store.load(store.run_dir(item.name, args.run, args.results))
        else:
            print(
                f"{item.name}: null run of its CI profile ({item.ci.profile}), {args.repeats} repeats, "
                f"every variant running {item.reference_variant}",
                flush=True,
            )
            options = RunOptions(
                item.ci.profile,
                args.repeats,
                results_root=args.results,
                progress=not args.quiet,
                null=item.reference_variant,
            )
            outcome = run(item, options)
            if outcome.errors:
                raise LabError(f"{item.name}: {outcome.errors[0]}")
            rec = outcome.record
        try:
            found = calibrate(rec, item.ci.min_repeats, args.trials, item.ci.tolerance)
        except ValueError as exc:
            raise LabError(f"{item.name}: {exc}") from exc
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / f"{item.name}.json", json.dumps(found.as_dict(), indent=2))
        print(found.text())
    return 0


def add_calibrate(sub: Subparsers) -> None:
    p = sub.add_parser("calibrate", help="A/A trials: the gate's false-alarm rate and null mode's pass rate")
    p.add_argument("scenarios", nargs="+", help="scenario names")
    p.add_argument("--repeats", type=int, default=6, help="repeats of the null run that is the pool (default: 6)")
    p.add_argument("--trials", type=int, default=200, help="trials drawn from the pool (default: 200)")
    p.add_argument("--run", help="a complete null run to draw from instead of running one now")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    folders(p, results=True)
    p.set_defaults(func=_calibrate)


def add_baseline(sub: Subparsers) -> None:
    p = sub.add_parser("baseline", help="store a scenario's CI-profile run as its committed baseline")
    p.add_argument("scenarios", nargs="+", help="scenario names")
    p.add_argument("--run", help="take this complete run instead of running the CI profile now")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    folders(p, results=True)
    folders(p, baselines=True)
    p.set_defaults(func=_baseline)


def add_ci(sub: Subparsers) -> None:
    p = sub.add_parser(
        "ci",
        help="CI gate: run CI profiles, compare with baselines or with a base commit (exit 0 ok, 1 regression, 2 error)",
        description="Against committed baselines (default), or against a base commit run on this same "
        "machine in one job (--base REF: a git worktree, base and head interleaved). Examples: "
        "`fastapi-lab ci --base origin/main`, `fastapi-lab ci loop-blocking`.",
    )
    p.add_argument(
        "scenarios",
        nargs="*",
        help="scenario names (default: every one with a baseline; with --base, every scenario)",
    )
    p.add_argument(
        "--base",
        metavar="REF",
        help="gate head against this commit (branch, tag, sha, HEAD~1), both run here, interleaved; no baseline needed",
    )
    p.add_argument("--profile", help="with --base: the load profile (default: each scenario's [ci] profile)")
    p.add_argument("--json", action="store_true", help="the gate's findings as JSON on stdout (gate.json)")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    folders(p, results=True, reports=True)
    folders(p, baselines=True)
    p.add_argument("--out", type=Path, default=RESULTS / "ci", metavar="DIR", help="CI outputs (default: results/ci/)")
    p.set_defaults(func=_ci)
