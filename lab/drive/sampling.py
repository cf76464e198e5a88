"""Server-side and generator-side samples, taken beside the load in a thread.

Rows are tidy (`ts, cell, metric, value`), so the report never needs to know which sampler
wrote a line. `ts` is the wall clock, which the summary lines up with Locust's window.
Process trees are sampled every second; probes (e.g. the database's view) at their own pace.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from lab.drive.checks import get
from lab.scenario.models import AppProbe

Row = tuple[float, str, str, float]
Probe = Callable[[], dict[str, float]]
TICK_S = 0.1


@dataclass
class _Tree:
    """A process and its descendants, remembered so cpu_percent() has a previous reading."""

    root: psutil.Process
    known: dict[int, psutil.Process] = field(default_factory=dict)

    def sample(self) -> tuple[float, float, float, float, int] | None:
        """CPU % of a core since the last reading, resident MB, CPU time used so far (ms; by every
        process the tree has had, the exited ones once their parent reaped them), the
        largest process's peak resident MB, and how many processes the tree has had so far. The
        cumulative time gives CPU per request over any window, read at its edges like a counter;
        the peak is the kernel's high-water mark (VmHWM), which a once-a-second reading cannot miss,
        however brief the spike; a new process is a worker started (or restarted: recycled)."""
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        cpu = rss = cpu_ms = hwm = 0.0
        for proc in procs:
            cached = self.known.setdefault(proc.pid, proc)
            try:
                with cached.oneshot():
                    cpu += cached.cpu_percent(None)
                    rss += cached.memory_info().rss
                    times = cached.cpu_times()
                    # With its reaped children's: the kernel adds an exited child's time to its parent's
                    # when the parent waits for it, so a recycled worker's CPU stays counted (a sum of the
                    # live processes' own times dropped at each recycle, below zero over a window).
                    own, reaped = times.user + times.system, times.children_user + times.children_system
                    cpu_ms += (own + reaped) * 1000.0
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                if proc.pid == self.root.pid:
                    return None  # killed, maybe not yet reaped: no reading rather than zeros
                continue
            hwm = max(hwm, _high_water_kb(proc.pid) * 1024)
        return cpu, rss / 2**20, cpu_ms, hwm / 2**20, len(self.known)


def _high_water_kb(pid: int) -> float:
    """The process's peak resident set (VmHWM, kB) since it started; 0 if it is gone or unreadable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


@dataclass
class _Source:
    every_s: float
    read: Callable[[], dict[str, float]]
    due: float = 0.0


# Cumulative readings of a role's process tree, carried over when a new tree takes the role.
COUNTERS = ("cpu_ms", "processes_seen")


class Sampler:
    """For each watched role, `<role>_cpu_pct`, `<role>_rss_mb`, `<role>_cpu_ms` (cumulative) and
    `<role>_rss_mb_hwm` (the kernel's peak, where /proc has it) every `interval_s`; plus probes."""

    def __init__(self, cell: str, interval_s: float = 1.0) -> None:
        self.cell, self.interval_s = cell, interval_s
        self.rows: list[Row] = []
        self.errors: list[str] = []
        self._sources: list[_Source] = []
        self._lock = threading.Lock()
        # Per (role, counter): what the trees watched before the current one counted, and the
        # current one's last reading.
        self._carried: dict[tuple[str, str], float] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{cell}", daemon=True)

    def watch(self, role: str, pid: int) -> None:
        """Sample a process tree as `role`. Watching a new process in a role (a restarted server)
        carries the old one's CPU time and processes over, so `<role>_cpu_ms` and
        `<role>_processes_seen` stay one counter each across both."""
        try:
            tree = _Tree(psutil.Process(pid))
        except psutil.NoSuchProcess:
            return
        tree.sample()  # primes cpu_percent: the first reading of a process is always 0
        with self._lock:
            before = {}
            for counter in COUNTERS:
                key = (role, counter)
                before[counter] = self._carried[key] = self._carried.get(key, 0.0) + self._last.pop(key, 0.0)

        def read() -> dict[str, float]:
            reading = tree.sample()
            if reading is None:
                return {}
            cpu, rss, cpu_ms, hwm, seen = reading
            now = {"cpu_ms": cpu_ms, "processes_seen": float(seen)}
            with self._lock:
                self._last.update({(role, counter): value for counter, value in now.items()})
            out = {f"{role}_cpu_pct": cpu, f"{role}_rss_mb": rss}
            out |= {f"{role}_{counter}": before[counter] + value for counter, value in now.items()}
            return {**out, f"{role}_rss_mb_hwm": hwm} if hwm else out

        self.add_probe(read, self.interval_s, first_in=self.interval_s)

    def add_probe(self, probe: Probe, every_s: float, first_in: float = 0.0) -> None:
        with self._lock:
            self._sources.append(_Source(every_s, probe, time.monotonic() + first_in))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            with self._lock:
                due = [s for s in self._sources if s.due <= now]
            for source in due:
                source.due = now + source.every_s
                try:
                    values = source.read()
                except Exception as exc:  # a failing probe must not end the sampling of the others
                    if len(self.errors) < 5:
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                ts = time.time()
                self.rows.extend((ts, self.cell, metric, float(value)) for metric, value in values.items())


def app_probe(host: str, port: int, probe: AppProbe) -> Probe:
    """A number the app under test publishes at one of its routes, as the series `app_<name>`."""

    def read() -> dict[str, float]:
        status, body = get(host, port, probe.path, timeout_s=1.0)
        return {f"app_{probe.name}": float(json.loads(body)[probe.field])} if status == 200 else {}

    return read


def mechanism_probe(host: str, port: int) -> Probe:
    """The shared app helper's view of the mechanism (apps/common.py, LAB_MECHANISM=1): the event
    loop's worst lag since the last read, and AnyIO threadpool tokens in use."""

    def read() -> dict[str, float]:
        status, body = get(host, port, "/_lab/mechanism", timeout_s=2.0)
        if status != 200:
            return {}
        data = json.loads(body)
        return {
            "app_loop_lag_ms": float(data["loop_lag_ms"]),
            "app_threadpool_in_use": float(data["threadpool_in_use"]),
        }

    return read


def _cpu_times() -> dict[int, tuple[float, float]]:
    """Per core: (busy, total) CPU seconds since boot, every process and the kernel included (psutil
    reads /proc/stat on Linux, and the platform's own counters elsewhere). Idle and iowait are not
    busy; guest time is already inside user time, so it is not added twice."""
    out = {}
    for core, times in enumerate(psutil.cpu_times(percpu=True)):
        fields = times._asdict()
        total = sum(v for k, v in fields.items() if k not in ("guest", "guest_nice"))
        idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
        out[core] = (total - idle, total)
    return out


def cores_probe(roles: dict[str, list[int]]) -> Probe:
    """How busy each role's cores were since the last reading, whoever used them: every process on
    them, the kernel's softirqs included. `<role>_cores_busy_pct` is the mean over the role's cores
    (0-100), `<role>_cores_busy_sum_pct` the sum, in % of one core."""
    last = _cpu_times()

    def read() -> dict[str, float]:
        nonlocal last
        now = _cpu_times()
        out = {}
        for role, cores in roles.items():
            busy = [
                100 * (now[c][0] - last[c][0]) / max(1e-9, now[c][1] - last[c][1])
                for c in cores
                if c in now and c in last
            ]
            if busy:
                out[f"{role}_cores_busy_pct"] = sum(busy) / len(busy)
                out[f"{role}_cores_busy_sum_pct"] = sum(busy)
        last = now
        return out

    return read
