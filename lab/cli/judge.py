"""`lab audit` (null mode) and `lab rejudge` (claims judged again from a record)."""

from __future__ import annotations

import argparse
import json
import sys

from lab.cli.common import EXIT_CLAIM_FAILED, Subparsers, folders, recorded
from lab.errors import LabError
from lab.record import store
from lab.scenario import loading

NULL_REPEATS = 3  # a null run's repeats unless its profile asks for more


def _audit(args: argparse.Namespace) -> int:
    from lab.analysis import audit
    from lab.drive.runner import RunOptions, run

    if args.repeats is not None and args.repeats < 2:
        raise LabError(f"--repeats {args.repeats}: a null run needs at least 2 repeats to fail a claim (an interval)")
    names = args.scenarios or loading.known()
    loaded = [loading.load(name) for name in names]
    records = []
    for item in loaded:
        # A null run is judged with the same power as the real one: a profile that asks for more
        # repeats (a claim whose spread is between processes) gets them here too, never fewer than 3.
        repeats = args.repeats or max(NULL_REPEATS, item.profile(args.profile).repeats)
        directions = [args.only] if args.only else list(item.variants)
        for direction in directions:
            if direction not in item.variants:
                raise LabError(f"--only {direction}: {item.name} has no such variant")
            print(
                f"{item.name}: null mode, {args.profile} profile x {repeats} repeats, every variant runs {direction}",
                file=sys.stderr if args.json else sys.stdout,
                flush=True,
            )
            options = RunOptions(args.profile, repeats, results_root=args.results, progress=False, null=direction)
            outcome = run(item, options)
            if outcome.errors:
                raise LabError(f"{item.name}: the null run (all {direction}) failed: {outcome.errors[0]}")
            records.append(outcome.record)
    found = audit.rows(records)
    if args.json:
        print(json.dumps(audit.as_json(found), indent=2))
    else:
        print()
        print(audit.render(found))
    return EXIT_CLAIM_FAILED if any(r.defect for r in found) else 0


def _rejudge(args: argparse.Namespace) -> int:
    """Judge a complete run's claims again with this lab's claim code, from its recorded cells and the
    claims as the record declares them (never the scenario file, which may have moved on)."""
    from lab.analysis.claims import CONFIDENCE, declared, evaluate
    from lab.drive.machine import lab_commit

    args.results = recorded(args.results)
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


def add_audit(sub: Subparsers) -> None:
    p = sub.add_parser(
        "audit", help="null mode, one run per variant: which claims pass (exit 1), fail, or never decide"
    )
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--profile", default="quick", help="load profile (default: quick)")
    # A null run needs intervals to fail a claim: at least two repeats.
    p.add_argument(
        "--repeats", type=int, help=f"repeats of each null run (default: the profile's, at least {NULL_REPEATS})"
    )
    p.add_argument("--only", metavar="VARIANT", help="one direction only: every variant runs this one")
    p.add_argument("--json", action="store_true", help="each claim's status and null verdicts as JSON on stdout")
    p.epilog = "examples: `audit loop-blocking` (every direction), `audit n-plus-one --only fix_eager --json`"
    folders(p, results=True)
    p.set_defaults(func=_audit)


def add_rejudge(sub: Subparsers) -> None:
    p = sub.add_parser("rejudge", help="judge complete runs' claims again with this lab's claim code")
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    p.add_argument("--run", help="a run id (default: the newest complete run)")
    folders(p, results=True)
    p.set_defaults(func=_rejudge)
