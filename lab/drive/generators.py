"""Several Locust processes as one generator: how many, and their outputs merged into one.

One Locust process runs on one core (gevent), so on a machine with more cores than the server
needs, one process is the load's ceiling. With `generators` > 1 the lab runs Locust's own
distributed mode (`--processes N`: a master and N workers, forked), each worker writing its raw
files to `gen-<index>/` (lab/drive/locust_plugin.py); `merge` turns them into the one set of files every
later step reads (`requests.csv`, `window.json`, `in_flight.csv`, `confirmed_keys.txt`), merged by
wall-clock timestamp, so a cell reads the same whether one process or several produced it.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lab.errors import CellError, LabError
from lab.paths import write_atomic
from lab.record.window import Window
from lab.scenario.models import Generators


@dataclass(frozen=True)
class Remote:
    """Workers on other hosts (`lab worker --master HOST`): the master binds `host:port` and the
    whole generator is the `count` workers that connect to it; the master itself only coordinates."""

    host: str
    port: int
    count: int

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"


DEFAULT_MASTER_PORT = 5557  # Locust's own


def remote(bind: str, count: int) -> Remote:
    """`--master-bind ADDR[:PORT]` with `--remote-workers N`, or a one-line error saying what is right."""
    host, _, port = bind.rpartition(":") if bind.count(":") == 1 else (bind, "", "")
    host = host or bind
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise LabError(f"--master-bind {bind!r}: give an IP address of this host to bind, e.g. 10.0.0.5:5557") from None
    number = int(port) if port.isdigit() else DEFAULT_MASTER_PORT if not port else -1
    if not 1 <= number <= 65535:
        raise LabError(f"--master-bind {bind!r}: the port must be a number from 1 to 65535")
    if count < 1:
        raise LabError(f"--remote-workers {count}: at least one worker")
    return Remote(host, number, count)


def count(wanted: Generators, cores: list[int], model: str, users: int) -> int:
    """How many Locust processes: `auto` is one per generator core (a closed model never more than
    it has users); a number is taken as given, even beyond the cores (the cell is then flagged)."""
    if wanted != "auto":
        return int(wanted)
    n = max(1, len(cores))
    return min(n, users) if model == "closed" else n


def folders(out: Path) -> list[Path]:
    return sorted((p for p in out.glob("gen-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[1]))


def _each(out: Path, name: str) -> list[dict[str, Any]]:
    """One JSON file of every worker that has written it (a file is replaced whole, never half-written)."""
    found = []
    for folder in folders(out):
        try:
            found.append(json.loads((folder / name).read_text()))
        except (OSError, ValueError):
            continue
    return found


def windows(out: Path) -> list[Window]:
    """The workers' windows written so far (each appears at its test start, gains `end_s` at its end)."""
    return [Window.model_validate(w) for w in _each(out, "window.json")]


def merged_window(parts: list[Window]) -> Window:
    """One window for all workers: it starts at the earliest worker's start (`t0`); `skew_s` is how
    much later the last one started (the master starts them one message apart: milliseconds)."""
    t0 = min(w.t0 for w in parts)
    first = parts[0]
    out = Window(
        t0=t0,
        warmup_s=first.warmup_s,
        duration_s=first.duration_s,
        generators=len(parts),
        skew_s=round(max(w.t0 for w in parts) - t0, 4),
    )
    if first.open:
        out.model, out.arrivals = "open", first.arrivals
        out.rate = round(sum(w.rate or 0.0 for w in parts), 6)
    ends = [w.end_s for w in parts]
    if all(end is not None for end in ends):
        # Open: the schedule's end, the same offset for every worker. Closed: each worker's end on
        # the wall clock; the merged window ends with the last of them.
        out.end_s = first.end_s if first.open else round(max(w.t0 + w.measured_end_s for w in parts) - t0, 4)
        drained = [w.drained_s for w in parts if w.drained_s is not None]
        if drained:
            out.drained_s = max(drained)
    return out


def progress(out: Path) -> dict[str, Any] | None:
    """The workers' progress lines as one: counts add up, the slowest p99 stands for all."""
    parts = _each(out, "progress.json")
    if not parts:
        return None
    merged: dict[str, Any] = {"elapsed_s": max(p["elapsed_s"] for p in parts), "phase": parts[0]["phase"]}
    for key in ("rps_now", "requests", "failures", "users", "in_flight"):
        if any(key in p for p in parts):
            merged[key] = sum(p.get(key) or 0 for p in parts)
    p99 = [p["p99_ms"] for p in parts if p.get("p99_ms") is not None]
    merged["p99_ms"] = max(p99) if p99 else None
    if len(parts) == len(folders(out)) and all("slo" in p for p in parts):
        # The step's SLO tallies: each process counts its own share of the arrivals.
        merged["slo"] = {
            name: [sum(p["slo"][name][0] for p in parts), sum(p["slo"][name][1] for p in parts)]
            for name in parts[0]["slo"]
        }
    return merged


def merge(out: Path, expected: int) -> None:
    """Write the cell's files from its workers' files. A worker that wrote nothing, or never ended
    its window, makes the cell fail: a merge of fewer workers would be a lower rate, not a result."""
    parts = folders(out)
    found = windows(out)
    if len(parts) != expected or len(found) != expected:
        raise CellError(f"{expected} Locust workers were to run, {len(found)} wrote a window; see {out / 'locust.log'}")
    if not all(w.end_s is not None for w in found):
        raise CellError(f"a Locust worker ended before its measured window was over; see {out / 'locust.log'}")
    window = merged_window(found)
    t0 = window.t0
    frames = []
    for folder, part in zip(parts, found, strict=True):
        frame = pd.read_csv(folder / "requests.csv", dtype={"name": "string"})
        shift = part.t0 - t0
        for column in ("t", "sched", "sent"):
            if column in frame:
                frame[column] = frame[column] + shift
        frame["gen"] = part.generator or 0
        frames.append(frame)
    requests = pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")
    _write_csv(
        requests,
        out / "requests.csv",
        {"t": "%.4f", "response_ms": "%.3f", "sched": "%.5f", "sent": "%.5f", "wait": "%.5f"},
    )
    flights = [(folder / "in_flight.csv", part.t0 - t0) for folder, part in zip(parts, found, strict=True)]
    if all(path.is_file() for path, _ in flights):
        _merge_in_flight(flights, out / "in_flight.csv")
    keys = [folder / "confirmed_keys.txt" for folder in parts if (folder / "confirmed_keys.txt").is_file()]
    if keys:
        (out / "confirmed_keys.txt").write_text("".join(path.read_text() for path in keys))
    write_atomic(out / "window.json", window.dump())


def _merge_in_flight(parts: list[tuple[Path, float]], path: Path) -> None:
    """Requests in flight across all workers: each worker's count carried forward onto one 10 ms
    grid (a worker samples every 10 ms on its own clock), then summed."""
    frames = []
    for source, shift in parts:
        frame = pd.read_csv(source)
        frame["t"] = frame["t"] + shift
        frames.append(frame.sort_values("t"))
    start = min(float(f["t"].min()) for f in frames if not f.empty)
    end = max(float(f["t"].max()) for f in frames if not f.empty)
    grid = pd.DataFrame({"t": [round(start + 0.01 * i, 3) for i in range(int((end - start) / 0.01) + 1)]})
    total = pd.Series(0, index=grid.index, dtype="int64")
    for frame in frames:
        aligned = pd.merge_asof(grid, frame, on="t", direction="backward")
        total += aligned["in_flight"].fillna(0).astype("int64")
    with path.open("w") as handle:
        handle.write("t,in_flight\n")
        handle.writelines(f"{t:.3f},{n}\n" for t, n in zip(grid["t"], total, strict=True))


def _write_csv(frame: pd.DataFrame, path: Path, formats: dict[str, str]) -> None:
    out = frame.copy()
    for column, fmt in formats.items():
        if column in out:
            out[column] = out[column].map(lambda v, f=fmt: "" if pd.isna(v) else f % v)
    out.to_csv(path, index=False)
