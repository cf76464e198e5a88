"""Loaded by the lab next to a scenario's locustfile (`locust -f <locustfile>,<this file>`).

It adds what Locust's own CSVs lack for an honest summary:
- every request's completion time and exact response time (`requests.csv`), so percentiles are
  computed from raw samples rather than Locust's ~2-significant-digit histogram;
- the test's start on the wall clock (`window.json`), so server-side samples line up with it;
- a warm-up: Locust's own statistics are reset once the warm-up is over, so its CSVs and the
  lab's summary both describe only the measured window;
- an exact end: the test stops itself `--lab-duration` seconds after the warm-up, on the wall
  clock (Locust's `-t` counts on gevent's cached loop clock, which starts a second or more
  early when imports are slow; the lab passes a later `-t` only as a safety bound);
- a `progress.json` rewritten every second for the lab's live progress line.
It is inert when `--lab-out` is not given, so a locustfile never depends on it.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

import gevent
from locust import events
from locust.env import Environment

_rows: list[tuple[float, str, float, int]] = []
_state: dict[str, Any] = {}


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--lab-out", default="", include_in_web_ui=False, help="lab: output folder")
    parser.add_argument("--lab-warmup", type=float, default=0.0, include_in_web_ui=False, help="lab: warm-up s")
    parser.add_argument("--lab-duration", type=float, default=0.0, include_in_web_ui=False, help="lab: measured s")


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.lab_out:
        return
    out = Path(options.lab_out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    handle = (out / "requests.csv").open("w", newline="")
    handle.write("t,name,response_ms,ok\n")
    window = {"t0": t0, "warmup_s": options.lab_warmup, "duration_s": options.lab_duration}
    _state.update(out=out, handle=handle, window=window, measuring=False, t0=t0)
    _write_json(out / "window.json", window)
    gevent.spawn(_tick, environment)
    gevent.spawn(_watch_owner, environment)


@events.request.add_listener
def _on_request(name: str, response_time: float, exception: Any = None, **_: Any) -> None:
    if "t0" in _state:
        _rows.append((time.time() - _state["t0"], name, response_time, 0 if exception else 1))


def _tick(environment: Environment) -> None:
    """Once a second: flush rows, end the warm-up and the test when due, publish progress."""
    window = _state["window"]
    end = window["warmup_s"] + window["duration_s"]
    while "handle" in _state:
        elapsed = time.time() - _state["t0"]
        if window["duration_s"] and elapsed >= end:
            window["end_s"] = round(elapsed, 4)
            _write_json(_state["out"] / "window.json", window)
            if environment.runner is not None:
                environment.runner.quit()
            return
        gevent.sleep(min(1.0, end - elapsed) if window["duration_s"] else 1.0)
        if "handle" not in _state:
            break
        elapsed = time.time() - _state["t0"]
        if not _state["measuring"] and elapsed >= window["warmup_s"]:
            environment.stats.reset_all()
            _state["measuring"] = True
        completed = len(_rows)  # rows are flushed every tick: this is the last second's count
        _flush(_state["handle"])
        total = environment.stats.total
        _write_json(
            _state["out"] / "progress.json",
            {
                "elapsed_s": round(elapsed, 1),
                "phase": "measure" if _state["measuring"] else "warmup",
                "rps_now": completed,
                "requests": total.num_requests,
                "failures": total.num_failures,
                "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else None,
                "users": environment.runner.user_count if environment.runner else 0,
            },
        )


def _watch_owner(environment: Environment) -> None:
    """If the lab's harness dies (SIGKILL, OOM), stop at once rather than load a server nobody reads."""
    owner = int(os.environ.get("LAB_OWNER_PID", "0") or 0)
    while owner and "handle" in _state:
        gevent.sleep(1.0)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            if environment.runner is not None:
                environment.runner.quit()
            return
        except PermissionError:
            pass


def _flush(handle: TextIO) -> None:
    rows = _rows[:]
    del _rows[: len(rows)]
    csv.writer(handle).writerows((f"{t:.4f}", n, f"{ms:.3f}", ok) for t, n, ms, ok in rows)
    handle.flush()


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    handle = _state.pop("handle", None)
    if handle is not None:
        _flush(handle)
        handle.close()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
