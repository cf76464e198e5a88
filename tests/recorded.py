"""Recorded runs under tests/data/runs/: real outputs of the lab, for tests of everything after a run."""

from __future__ import annotations

from pathlib import Path

from lab.record import store
from lab.record.models import RunRecord

RUNS = Path(__file__).parent / "data" / "runs"
# loop-blocking, quick profile, 2 repeats (`lab run loop-blocking --profile quick --repeats 2`):
# run.json, samples.csv and each cell's requests.csv and window.json as the lab wrote them.
LOOP_BLOCKING = RUNS / "loop-blocking" / "20261122T062030135Z"


def loop_blocking() -> RunRecord:
    return store.load(LOOP_BLOCKING)


# inline-side-work, quick profile: the server restarted 6 s into the load (grace 5 s and 0), and the
# ledger of writes (confirmed vs taken upstream). Only what the report reads: run.json, samples.csv,
# and each cell's requests.csv and window.json.
INLINE_SIDE_WORK = RUNS / "inline-side-work" / "20261123T073701258Z"
