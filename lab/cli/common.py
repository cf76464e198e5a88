"""What every command shares: exit codes and the folder options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lab.paths import REPORTS, RESULTS, shown

EXIT_CLAIM_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

Subparsers = Any  # argparse's _SubParsersAction, which argparse does not export


def folders(p: argparse.ArgumentParser, results: bool = False, reports: bool = False, baselines: bool = False) -> None:
    """The results, reports and baselines folders a command reads or writes."""
    if results:
        p.add_argument(
            "--results", type=Path, default=RESULTS, metavar="DIR", help="results folder (default: results/)"
        )
    if reports:
        p.add_argument(
            "--reports", type=Path, default=REPORTS, metavar="DIR", help="reports folder (default: reports/)"
        )
    if baselines:
        p.add_argument(
            "--baselines", type=Path, default=RESULTS / "baselines", metavar="DIR", help="default: results/baselines/"
        )


def recorded(results: Path) -> Path:
    """The results folder a command reads, with the committed evidence restored into it first (a
    fresh clone then reports, compares and audits the catalogue's runs without re-running them)."""
    from lab.record import evidence

    if results.resolve() == RESULTS.resolve():
        restored = evidence.restore(results)
        if restored:
            print(f"restored {len(restored)} committed runs from {shown(evidence.EVIDENCE)}")
    return results
