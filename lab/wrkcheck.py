"""Cross-check of the open model against wrk: the maximum a server-bound endpoint serves.

wrk (closed loop, C, one core) finds the endpoint's ceiling; the lab's open model, offered more
than that, must achieve the same goodput within 5 % (its generator is then not what limits).
Run by `make bench-generator`; a benchmark printed here, never a timed test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lab import load, scenario
from lab.errors import LabError
from lab.paths import ROOT
from lab.processes import core_layout, free_port, spawn, stop
from lab.servers import Server
from lab.summary import read_requests, read_window, summarise

TOLERANCE = 0.05


@dataclass(frozen=True)
class Check:
    wrk_rps: float
    open_offered: float
    open_rps: float
    send_lag_p99_ms: float | None

    @property
    def ratio(self) -> float:
        return self.open_rps / self.wrk_rps

    def render(self) -> str:
        verdict = "within" if abs(self.ratio - 1) <= TOLERANCE else "NOT within"
        return (
            f"wrk (closed loop, 1 thread, 32 connections): {self.wrk_rps:,.0f} req/s\n"
            f"open model offered {self.open_offered:,.0f} req/s: achieved {self.open_rps:,.0f} req/s "
            f"(send lag p99 {self.send_lag_p99_ms} ms)\n"
            f"open / wrk = {self.ratio:.3f}: {verdict} {TOLERANCE:.0%}"
        )


def wrk_rps(url: str, seconds: int, cores: list[int], log: Path) -> float:
    proc = spawn(["wrk", "-t1", "-c32", f"-d{seconds}s", url], cores=cores, env=dict(os.environ), log=log, cwd=ROOT)
    try:
        proc.wait(timeout=seconds + 30)
    finally:
        stop(proc, grace_s=2.0)
    found = re.search(r"Requests/sec:\s+([\d.]+)", log.read_text())
    if not found:
        raise LabError(f"wrk printed no rate; see {log}")
    return float(found.group(1))


def run(name: str = "json-serialization", variant: str = "bad_jsonable", path: str = "/items") -> Check:
    if shutil.which("wrk") is None:
        raise LabError("wrk is not installed; on Debian: apt-get install wrk")
    sc = scenario.load(name)
    server = scenario.apply_setting(sc.server, {"env.ITEMS": 1000})
    layout = core_layout()
    port = free_port(server.host)
    url = f"http://{server.host}:{port}"
    with tempfile.TemporaryDirectory(prefix="lab-wrkcheck-") as scratch:
        out = Path(scratch)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with Server(
            sc.variants[variant], server, port, cores=layout.server, env=env, log=out / "server.log", cwd=ROOT,
            what=f"{name} {variant}",
        ):  # fmt: skip
            # A cold server is slower for its first seconds (measured: wrk 55 req/s cold against the
            # open model's 59 on the then-warm server): both measurements get a warm one.
            wrk_rps(f"{url}{path}", 3, layout.generator, out / "wrk-warmup.log")
            ceiling = wrk_rps(f"{url}{path}", 10, layout.generator, out / "wrk.log")
            profile = sc.profile("quick").model_copy(
                update={
                    "model": "open",
                    "rate": round(ceiling * 1.3),
                    "warmup_s": 2,
                    "duration_s": 8,
                    "max_in_flight": 64,
                    "matrix": {},
                }
            )
            locust_out = out / "open"
            locust_out.mkdir()
            load.run(
                sc.locustfile, profile, url, locust_out, cores=layout.generator, env=env,
                on_start=lambda _: None, on_tick=lambda _: None,
            )  # fmt: skip
        return _summary(ceiling, locust_out, profile.rate or 0)


def _summary(ceiling: float, folder: Path, offered: float) -> Check:
    window = read_window(folder / "window.json")
    summary = summarise(read_requests(folder / "requests.csv"), window, pd.DataFrame(columns=["ts", "metric", "value"]))
    return Check(ceiling, offered, summary.rps or 0.0, summary.send_lag_ms.get("p99"))


def main() -> int:
    try:
        check = run()
    except subprocess.SubprocessError as exc:
        raise LabError(f"wrk check: {exc}") from None
    print(check.render())
    return 0 if abs(check.ratio - 1) <= TOLERANCE else 1
