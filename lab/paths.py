"""Where the lab's folders are. Everything is relative to the project root, never to the caller's
cwd once the root is chosen.

The project root holds the apps, `scenarios/`, `locustfiles/`, `results/` and `reports/`. It is
`LAB_ROOT` when set; else this checkout, when the harness runs from the repository (`make`,
`python -m lab`, or an editable install); else the current directory, which is where an installed
harness (`pip install`, `uv tool install`) finds a service's own repository."""

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# What travels with the harness: the defaults every scenario is read over, and Locust's plugin.
BASE_SCENARIO = PACKAGE / "scenario" / "defaults.toml"
LOCUST_PLUGIN = PACKAGE / "drive" / "locust_plugin.py"


def _project_root() -> Path:
    if os.environ.get("LAB_ROOT"):
        return Path(os.environ["LAB_ROOT"]).resolve()
    checkout = PACKAGE.parent
    if all((checkout / part).exists() for part in ("pyproject.toml", "scenarios", "apps", "locustfiles")):
        return checkout
    return Path.cwd().resolve()


ROOT = _project_root()
RESULTS = ROOT / "results"
REPORTS = ROOT / "reports"
_scenarios = ROOT / "scenarios"


def scenarios() -> Path:
    """The folder scenario names resolve in: the root's `scenarios/`, or `--scenarios DIR`."""
    return _scenarios


def use_scenarios(folder: Path) -> None:
    """`--scenarios DIR`: names (and `--all`) resolve in this folder for the rest of the process."""
    global _scenarios
    _scenarios = folder.resolve()


def write_atomic(path: Path, text: str) -> None:
    """Temp file + rename: a reader (the lab polling Locust's files, a crash mid-write) sees the old
    content or the new, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def shown(path: Path) -> str:
    """A path as a user would type it: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
