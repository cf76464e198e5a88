"""`python -m lab ...`: thin, each command calls one module; a command's parser and its function
live together in this package's modules."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lab.cli import gate, judge, records, run, starter, tools
from lab.cli.common import EXIT_ERROR, EXIT_INTERRUPTED
from lab.cli.records import published
from lab.errors import LabError
from lab.paths import shown, use_scenarios

__all__ = ["main", "parser", "published"]


# The commands that resolve scenario names: each takes `--scenarios DIR`, a folder outside the
# project's `scenarios/` (a service's own, say) that its names and `--all` resolve in.
NAMED = ("list", "run", "audit", "compare", "report", "baseline", "ci", "calibrate", "rejudge", "slides")


def parser() -> argparse.ArgumentParser:
    prog = "fastapi-lab" if Path(sys.argv[0]).name == "fastapi-lab" else "python -m lab"
    top = argparse.ArgumentParser(prog=prog, description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    tools.add_list(sub)
    starter.add_init(sub)
    run.add_run(sub)
    run.add_worker(sub)
    judge.add_audit(sub)
    records.add_compare(sub)
    records.add_report(sub)
    records.add_catalogue(sub)
    gate.add_baseline(sub)
    gate.add_ci(sub)
    gate.add_calibrate(sub)
    judge.add_rejudge(sub)
    records.add_slides(sub)
    tools.add_wrk_check(sub)
    tools.add_compose_env(sub)
    tools.add_compose_up(sub)
    tools.add_compose_down(sub)
    tools.add_serve(sub)
    records.add_schema(sub)
    for name in NAMED:
        sub.choices[name].add_argument(
            "--scenarios",
            dest="scenarios_dir",
            type=Path,
            metavar="DIR",
            help="the folder scenario names resolve in (default: scenarios/ of the project root)",
        )
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "scenarios_dir", None) is not None:
            if not args.scenarios_dir.is_dir():
                raise LabError(
                    f"--scenarios {shown(args.scenarios_dir)}: no such folder; give a folder of scenario .toml files"
                )
            use_scenarios(args.scenarios_dir)
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
