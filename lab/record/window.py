"""`window.json`: when one Locust run (a step) started on the wall clock, and which part of it was
measured. The Locust plugin writes it (lab/drive/locust_plugin.py), several generator processes'
windows merge into one (lab/drive/generators.py), and everything after reads it through this model.

Offsets (`warmup_s`, `end_s`) are seconds from `t0`; `t0` is the wall clock, so server-side samples
(taken by other processes) line up with the requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lab.errors import LabError


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    t0: float  # the load's start, wall clock (s since the epoch)
    warmup_s: float
    duration_s: float
    end_s: float | None = None  # the measured window's end; absent while the run is still going
    model: Literal["closed", "open"] = "closed"
    rate: float | None = None  # open model: arrivals per second this process (or all, merged) offered
    arrivals: str | None = None  # open model: "poisson" or "uniform"
    generator: int | None = None  # this process's index among several
    generators: int = 1  # Locust processes that produced the step
    skew_s: float | None = None  # merged: how much later the last process started than the first
    drained_s: float | None = None  # open model: how long answers took to come in after the schedule ended

    @property
    def open(self) -> bool:
        return self.model == "open"

    @property
    def measured_end_s(self) -> float:
        """The end of the measured window; a step that never recorded one was not finished."""
        if self.end_s is None:
            raise LabError("the step's window has no end: its Locust run did not finish")
        return self.end_s

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)


def read_window(path: Path) -> Window:
    try:
        return Window.model_validate_json(path.read_text())
    except FileNotFoundError:
        raise LabError(f"no window at {path}: the step's Locust run wrote nothing") from None
    except ValidationError as exc:
        raise LabError(f"{path}: not a valid window: {exc.errors()[0]['msg']}") from None
