"""Where the lab's folders are. Everything is relative to the checkout, never to the caller's cwd."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASE_SCENARIO = SCENARIOS / "_base.toml"
RESULTS = ROOT / "results"
REPORTS = ROOT / "reports"
LOCUST_PLUGIN = Path(__file__).resolve().parent / "locust_plugin.py"


def shown(path: Path) -> str:
    """A path as a user would type it: relative to the checkout when inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
