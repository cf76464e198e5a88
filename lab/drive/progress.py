"""Live progress on stderr: which cell, elapsed/remaining, live rps, p99, failures."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from lab.record.models import CellSummary
from lab.scenario.plan import Cell

# Start-up, verification and shutdown around each cell's load, for the remaining-time estimate.
CELL_OVERHEAD_S = 4.0


class Progress:
    def __init__(self, cells: list[Cell], stream: TextIO = sys.stderr) -> None:
        self.cells, self.stream = cells, stream
        self.live = stream.isatty()
        self.started = time.monotonic()
        self.index = 0
        self._last_line = 0.0

    def _remaining_s(self, elapsed_in_cell: float) -> float:
        rest = self.cells[self.index :]
        total = sum(c.load.warmup_s + c.load.duration_s + CELL_OVERHEAD_S for c in rest)
        return max(0.0, total - elapsed_in_cell)

    def say(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def cell_start(self, index: int, cell: Cell) -> None:
        self.index = index
        setting = f" [{cell.setting_label}]" if cell.setting else ""
        self.say(
            f"[{index + 1}/{len(self.cells)}] {cell.variant}{setting} repeat {cell.repeat}: "
            + (
                f"{cell.load.users} users, {cell.load.warmup_s:g}s warm-up + {cell.load.duration_s:g}s"
                if cell.load.model == "closed"
                else f"open model, {cell.load.warmup_s:g}s warm-up + {cell.load.duration_s:g}s per rate"
            )
        )

    def tick(self, status: dict[str, Any] | None) -> None:
        now = time.monotonic()
        if status is None or (not self.live and now - self._last_line < 5):
            return
        self._last_line = now
        p99 = status.get("p99_ms")
        line = (
            f"    {status['phase']:<7} t={status['elapsed_s']:>5.1f}s  rps={status['rps_now']:>6}  "
            f"p99={'-' if p99 is None else f'{p99:g}ms':>8}  failures={status['failures']}  "
            f"elapsed {now - self.started:>4.0f}s, ~{self._remaining_s(status['elapsed_s']):.0f}s left"
        )
        if self.live:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        else:
            self.say(line)

    def cell_done(self, summary: CellSummary, verdict: str = "") -> None:
        flags = f"  flags: {', '.join(summary.flags)}" if summary.flags else ""
        flags += f"  ({verdict})" if verdict else ""
        p50, p99, rps = summary.value("p50"), summary.value("p99"), summary.value("rps") or 0.0
        self.say(
            f"    done: {summary.requests} requests, {rps:.1f} rps, "
            f"p50 {p50 if p50 is None else f'{p50:.1f}'} ms, p99 {p99 if p99 is None else f'{p99:.1f}'} ms, "
            f"{summary.failures} failures{flags}"
        )
