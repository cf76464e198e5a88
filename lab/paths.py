"""Where the lab's folders are. Everything is relative to the checkout, never to the caller's cwd."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASE_SCENARIO = SCENARIOS / "_base.toml"
RESULTS = ROOT / "results"
REPORTS = ROOT / "reports"
LOCUST_PLUGIN = Path(__file__).resolve().parent / "drive" / "locust_plugin.py"


def write_atomic(path: Path, text: str) -> None:
    """Temp file + rename: a reader (the lab polling Locust's files, a crash mid-write) sees the old
    content or the new, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def shown(path: Path) -> str:
    """A path as a user would type it: relative to the checkout when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
