"""The attribution table's logic, on cells of a recorded run given known server settings and costs."""

from __future__ import annotations

import math

from lab.analysis import attribution
from lab.record.models import CellRecord, RunRecord
from lab.report.terminal import attribution_table
from lab.scenario.models import ServerSettings
from tests.recorded import loop_blocking

# CPU ms per request by setting: the parser halves it, uvloop takes a fifth off, the access log adds
# 40 %, and granian costs 0.6 of uvicorn at httptools. Each repeat scales every setting alike
# (machine drift), and one setting of one repeat is off by 10 % (noise the interval must show).
SETTINGS = {
    ("uvicorn", "h11", "asyncio", False): 1.0,
    ("uvicorn", "h11", "uvloop", False): 0.8,
    ("uvicorn", "httptools", "asyncio", False): 0.5,
    ("uvicorn", "httptools", "uvloop", False): 0.4,
    ("uvicorn", "httptools", "uvloop", True): 0.56,
    ("granian", "hyper", "uvloop", False): 0.24,
}
DRIFT = {1: 1.0, 2: 1.3, 3: 0.9}


def _record() -> RunRecord:
    rec = loop_blocking()
    template = next(c for c in rec.ok_cells() if c.summary is not None)
    cells: list[CellRecord] = []
    for repeat, drift in DRIFT.items():
        for route in ("tiny", "list"):
            for (kind, http, loop, log), cost in SETTINGS.items():
                server = ServerSettings(kind=kind, http=http, loop=loop, access_log=log, env={"ROUTE": route})
                assert template.summary is not None
                summary = template.summary.model_copy(deep=True)
                noise = 1.1 if (repeat, kind, http, loop, log) == (2, "uvicorn", "httptools", "asyncio", False) else 1.0
                summary.set_metric("server_cpu_ms_per_request", cost * drift * noise * (2 if route == "list" else 1))
                cells.append(
                    template.model_copy(
                        update={
                            "id": f"r{repeat}-{kind}-{http}-{loop}-{log}-{route}",
                            "repeat": repeat,
                            "server": server,
                            "summary": summary,
                            "points": [],
                        }
                    )
                )
    return rec.model_copy(update={"cells": cells})


def test_each_factor_is_the_ratio_of_settings_that_differ_in_it_alone_with_an_interval_over_repeats() -> None:
    found = {(e.route, e.factor): e for e in attribution.effects(_record(), "server_cpu_ms_per_request")}
    parser = found[("tiny", "HTTP parser: httptools / h11")]
    # Two pairs (with asyncio and with uvloop); the noisy repeat moves one of them only.
    assert parser.pairs == 2 and parser.repeats == 3
    assert math.isclose(parser.ratio, 0.5, rel_tol=1e-9)  # the median repeat has no noise
    assert parser.low is not None and parser.high is not None and parser.low < 0.5 < parser.high
    assert parser.confidence == 0.95 and "t-interval" in parser.method
    loop = found[("tiny", "event loop: uvloop / asyncio")]
    assert loop.pairs == 2 and math.isclose(loop.ratio, 0.8, rel_tol=1e-9)
    log = found[("tiny", "access log: off / on")]
    assert log.pairs == 1 and math.isclose(log.ratio, 0.4 / 0.56, rel_tol=1e-9)
    assert log.low is not None and log.high is not None and math.isclose(log.low, log.high, rel_tol=1e-9)  # no noise
    granian = found[("tiny", "server: granian / uvicorn (httptools)")]
    assert granian.pairs == 1 and math.isclose(granian.ratio, 0.6, rel_tol=1e-9)
    # Settings that differ in two parts pair with nothing; absent servers show no factor.
    assert not [k for k in found if "hypercorn" in k[1] or "gunicorn" in k[1]]
    # Routes are apart: the list route's costs are doubled on both sides, so its ratios are the same.
    assert math.isclose(found[("list", "HTTP parser: httptools / h11")].ratio, 0.5, rel_tol=1e-9)


def test_shares_split_the_parser_loop_and_log_spread_on_the_log_scale() -> None:
    found = attribution.effects(_record(), "server_cpu_ms_per_request")
    shares = attribution.shares(found, "tiny")
    sizes = {"HTTP parser: httptools / h11": math.log(2), "event loop: uvloop / asyncio": -math.log(0.8),
             "access log: off / on": -math.log(0.4 / 0.56)}  # fmt: skip
    total = sum(sizes.values())
    assert set(shares) == set(sizes)
    for name, size in sizes.items():
        assert math.isclose(shares[name], size / total, rel_tol=1e-9)


def test_a_run_without_such_pairs_has_no_attribution_table() -> None:
    assert attribution_table(loop_blocking()) == ""
    assert attribution.table(loop_blocking()) == []
