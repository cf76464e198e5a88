"""`lab worker --master ADDR`: Locust workers on this host for a lab run whose master is elsewhere.

A run starts one Locust master per step (every offered rate of a sweep is its own Locust run), so
a worker here is started again each time the last one ends, until the time given is up. Each one is
Locust's own worker (`locust --worker --master-host`); the lab's plugin in it writes into a
folder of its own and ships its files to the master (lab/drive/shipping.py). A worker that cannot
reach a master gives up after Locust's own retries (5 minutes) and the next one tries again.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lab.drive.load import TIMER_ENV
from lab.drive.processes import available_cores, spawn, stop, tail
from lab.drive.shipping import WORKER_DIR
from lab.paths import LOCUST_PLUGIN, ROOT


def command(host: str, port: int, processes: int, locustfile: Path | None) -> list[str]:
    # `-f -`: Locust fetches the master's locustfiles (the scenario's and the lab's plugin).
    files = f"{locustfile},{LOCUST_PLUGIN}" if locustfile is not None else "-"
    cmd = [sys.executable, "-m", "locust", "-f", files, "--worker", "--master-host", host]
    cmd += ["--master-port", str(port), "--loglevel", "INFO"]
    return cmd + (["--processes", str(processes)] if processes > 1 else [])


def serve(host: str, port: int, processes: int, locustfile: Path | None, for_s: float) -> int:
    """Run one Locust worker after another until `for_s` seconds have passed; returns how many of
    them served a test (wrote files for the master)."""
    deadline = time.monotonic() + for_s
    served = 0
    cmd = command(host, port, processes, locustfile)
    print(f"Locust worker(s) for the master at {host}:{port}, for {for_s:g} s: {' '.join(cmd[2:])}", flush=True)
    while time.monotonic() < deadline:
        folder = Path(tempfile.mkdtemp(prefix="lab-worker-"))
        log = folder / "locust.log"
        proc = spawn(cmd, cores=available_cores(), env={**os.environ, WORKER_DIR: str(folder), **TIMER_ENV},
                     log=log, cwd=ROOT)  # fmt: skip
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            code = stop(proc, grace_s=5.0).code
            ran = sorted(p.name for p in folder.glob("gen-*"))
            if ran:
                served += 1
                print(f"served a run as {', '.join(ran)} (exit {code})", flush=True)
            elif code not in (0, None) and time.monotonic() < deadline:
                print(f"no master answered (exit {code}): {tail(log, 1)}", flush=True)
                time.sleep(1.0)  # never a tight loop against a master that refuses
            shutil.rmtree(folder, ignore_errors=True)
    return served
