"""The raw files of one Locust run (a step): `requests.csv`, one row per request, and the
markers the open model writes for arrivals that were never answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

OPEN_COLUMNS = ("sched", "sent", "wait")


def read_requests(path: Path) -> pd.DataFrame:
    """requests.csv: completion `t`, `name`, `response_ms` from the actual send, `ok`; the open model
    adds `sched`, `sent` and `wait` (seconds from the load's start; a cell of an older lab has none)."""
    frame = pd.read_csv(path, dtype={"t": "float64", "name": "string", "response_ms": "float64", "ok": "int8"})
    for column in OPEN_COLUMNS:
        frame[column] = frame[column].astype("float64") if column in frame else np.nan
    return frame


def read_window(path: Path) -> dict[str, Any]:
    window: dict[str, Any] = json.loads(path.read_text())
    return window


# Names of rows that are not a request the locustfile made.
DROPPED = "(dropped: in-flight cap)"


UNANSWERED = "(unanswered at drain end)"


UNSENT = "(not sent: in-flight cap full at the schedule's end)"


TASK_ERROR = "(task error)"


NOT_REQUESTS = (DROPPED, UNANSWERED, UNSENT, TASK_ERROR)
