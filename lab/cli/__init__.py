"""`python -m lab ...`: thin, each command calls one module; a command's parser and its function
live together in this package's modules."""

from __future__ import annotations

import argparse
import os
import sys

from lab.cli import gate, judge, records, run, tools
from lab.cli.common import EXIT_ERROR, EXIT_INTERRUPTED
from lab.cli.records import published
from lab.errors import LabError

__all__ = ["main", "parser", "published"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    tools.add_list(sub)
    run.add_run(sub)
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
    tools.add_serve(sub)
    records.add_schema(sub)
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
