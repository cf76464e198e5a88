"""The raw files of one Locust run (a step): `requests.csv`, one row per request, and the
markers the open model writes for arrivals that were never answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab.record.window import Window, read_window

OPEN_COLUMNS = ("sched", "sent", "wait")


def read_requests(path: Path) -> pd.DataFrame:
    """requests.csv: completion `t`, `name`, `response_ms` from the actual send, `ok`, `status`; the open model
    adds `sched`, `sent` and `wait` (seconds from the load's start; a cell of an older lab has none)."""
    frame = pd.read_csv(path, dtype={"t": "float64", "name": "string", "response_ms": "float64", "ok": "int8"})
    # The HTTP status of each answer (0: none, or a file from before the lab recorded it).
    frame["status"] = frame["status"].fillna(0).astype("int32") if "status" in frame else 0
    for column in OPEN_COLUMNS:
        frame[column] = frame[column].astype("float64") if column in frame else np.nan
    return frame


# Names of rows that are not a request the locustfile made.
DROPPED = "(dropped: in-flight cap)"


UNANSWERED = "(unanswered at drain end)"


UNSENT = "(not sent: in-flight cap full at the schedule's end)"


TASK_ERROR = "(task error)"


NOT_REQUESTS = (DROPPED, UNANSWERED, UNSENT, TASK_ERROR)


@dataclass(frozen=True)
class StepFiles:
    """What one Locust run left in its folder, read once: its requests, window and in-flight samples."""

    folder: Path
    window: Window
    requests: pd.DataFrame
    in_flight: pd.DataFrame | None
    confirmed_keys: tuple[str, ...]  # writes the server confirmed (requests sent with a `lab_key`)

    @classmethod
    def read(cls, folder: Path) -> StepFiles:
        in_flight, keys = folder / "in_flight.csv", folder / "confirmed_keys.txt"
        return cls(
            folder=folder,
            window=read_window(folder / "window.json"),
            requests=read_requests(folder / "requests.csv"),
            in_flight=pd.read_csv(in_flight) if in_flight.is_file() else None,
            confirmed_keys=tuple(keys.read_text().split()) if keys.is_file() else (),
        )
