"""A step's SLO decision from its arrivals: meets, misses, or undecided (binomial, one-sided Wilson)."""

from __future__ import annotations

import numpy as np
import pytest

from lab.analysis import decision, steps
from lab.analysis.decision import Tally, decide
from lab.scenario.models import Slo

SLO = Slo(p99_ms=100)


def test_a_clean_step_meets_only_once_it_has_enough_arrivals() -> None:
    need = decision.needed("p99", 0.95)
    assert 250 < need < 300  # the binomial's rule of three, near 3 / 0.01
    assert decide({"p99": Tally(need - 30, 0)}, SLO, 0.95)[0] == "undecided"
    result, lines = decide({"p99": Tally(need + 5, 0)}, SLO, 0.95)
    assert result == "meets" and lines[0].startswith(f"p99: 0 of {need + 5} arrivals not answered OK within 100 ms")


def test_a_step_far_past_its_knee_misses_at_once_and_a_close_one_stays_undecided() -> None:
    assert decide({"p99": Tally(80, 40)}, SLO, 0.95)[0] == "misses"
    assert decide({"p99": Tally(300, 3)}, SLO, 0.95)[0] == "undecided"  # 1 % measured: on the line
    # Every bound must meet; any one missing is a miss.
    both = Slo(p50_ms=20, p99_ms=100)
    assert decide({"p50": Tally(400, 300), "p99": Tally(400, 0)}, both, 0.95)[0] == "misses"


def test_the_one_sided_bound_covers_the_share_as_often_as_it_says() -> None:
    rng = np.random.default_rng(3)
    share, n = 0.01, 500
    bad = rng.binomial(n, share, 4000)
    highs = np.array([decision.one_sided(int(b), n, 0.95)[1] for b in bad])
    assert np.mean(highs >= share) == pytest.approx(0.95, abs=0.03)


def test_a_running_step_is_decided_from_the_tallies_its_processes_publish() -> None:
    assert steps.decided({"slo": {"p99": [400, 0]}}, SLO, 0.95)
    assert not steps.decided({"slo": {"p99": [40, 0]}}, SLO, 0.95)
    assert not steps.decided({}, SLO, 0.95)  # a process that has not published yet decides nothing
    assert steps.bounds_spec(Slo(p90_ms=50, p99_ms=100)) == "p90=50,p99=100"
