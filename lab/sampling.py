"""Server-side and generator-side samples, taken beside the load in a thread.

Rows are tidy (`ts, cell, metric, value`), so the report never needs to know which sampler
wrote a line. `ts` is the wall clock, which the summary lines up with Locust's window.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

Row = tuple[float, str, str, float]


@dataclass
class _Tree:
    """A process and its descendants, remembered so cpu_percent() has a previous reading."""

    root: psutil.Process
    known: dict[int, psutil.Process] = field(default_factory=dict)

    def sample(self) -> tuple[float, float] | None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        cpu = rss = 0.0
        for proc in procs:
            cached = self.known.setdefault(proc.pid, proc)
            try:
                with cached.oneshot():
                    cpu += cached.cpu_percent(None)
                    rss += cached.memory_info().rss
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return cpu, rss / 2**20


class Sampler:
    """Samples every `interval_s`: for each watched role, `<role>_cpu_pct` and `<role>_rss_mb`."""

    def __init__(self, cell: str, interval_s: float = 1.0) -> None:
        self.cell, self.interval_s = cell, interval_s
        self.rows: list[Row] = []
        self._trees: dict[str, _Tree] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{cell}", daemon=True)

    def watch(self, role: str, pid: int) -> None:
        try:
            tree = _Tree(psutil.Process(pid))
        except psutil.NoSuchProcess:
            return
        tree.sample()  # primes cpu_percent: the first reading of a process is always 0
        with self._lock:
            self._trees[role] = tree

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            now = time.time()
            with self._lock:
                trees = list(self._trees.items())
            for role, tree in trees:
                reading = tree.sample()
                if reading is not None:
                    self.rows.append((now, self.cell, f"{role}_cpu_pct", reading[0]))
                    self.rows.append((now, self.cell, f"{role}_rss_mb", reading[1]))
