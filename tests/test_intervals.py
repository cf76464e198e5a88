"""Intervals whose coverage is what the record states, checked by simulation at n = 2 to 6 repeats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab.analysis import intervals
from lab.analysis.claims import Repeat, interval

TRIALS = 4000  # a 95 % coverage's standard error over 4000 trials: 0.34 points

# Repeats drawn from shapes a measurement can take: symmetric, skewed, and heavy-tailed on the log
# scale (Student's t with 3 degrees of freedom) and on the raw one (Pareto, shape 2.5). The truth
# each is compared with is its median.
SHAPES = {
    "normal": (lambda rng, size: rng.normal(100.0, 10.0, size), 100.0),
    "lognormal": (lambda rng, size: np.exp(rng.normal(0.0, 0.5, size)), 1.0),
    "log-t3": (lambda rng, size: np.exp(0.2 * rng.standard_t(3, size)), 1.0),
    "pareto": (lambda rng, size: rng.pareto(2.5, size) + 1.0, 2 ** (1 / 2.5)),
}


def test_the_t_quantile_matches_its_definition() -> None:
    """The quantile inverts the CDF, and the CDF is the t density's integral (checked numerically)."""
    for df in (1, 2, 5):
        for p in (0.975, 0.99, 0.9983):
            assert intervals.t_cdf(intervals.t_quantile(p, df), df) == pytest.approx(p, abs=1e-9)
        x = np.linspace(0.0, 3.0, 30001)
        density = (
            math.gamma((df + 1) / 2)
            / (math.sqrt(df * math.pi) * math.gamma(df / 2))
            * (1 + x**2 / df) ** (-(df + 1) / 2)
        )
        assert 0.5 + float(np.trapezoid(density, x)) == pytest.approx(intervals.t_cdf(3.0, df), abs=1e-7)


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_the_stated_confidence_is_the_coverage(shape: str, n: int) -> None:
    draw, truth = SHAPES[shape]
    rng = np.random.default_rng(n * 100 + len(shape))
    covered = 0
    stated = set()
    for values in draw(rng, (TRIALS, n)):
        found = interval([Repeat(float(v), float(v), float(v)) for v in values], 0.95)
        covered += found.low <= truth <= found.high
        stated.add(found.confidence)
    assert stated == {0.95}
    assert abs(covered / TRIALS - 0.95) <= 0.02, f"{shape}, n={n}: covered {covered / TRIALS:.3f}"


def test_a_stricter_look_widens_the_interval() -> None:
    values = [Repeat(v, v, v) for v in (30.0, 36.0, 41.0)]
    plain, strict = interval(values, 0.95), interval(values, 1 - 0.05 / 3)
    assert strict.low < plain.low and strict.high > plain.high


def test_values_known_within_ranges_cover_at_least_the_stated_confidence() -> None:
    """Capacities on a grid of rates: each repeat's truth lies between the rate that met and the one
    that missed. The interval from the lower ends' lower bound to the upper ends' upper bound covers
    the truth's median at least as often as stated."""
    rng = np.random.default_rng(7)
    grid = np.array([10.0, 17.5, 25.0, 32.5, 40.0])
    covered = 0
    for truths in np.exp(rng.normal(np.log(24.0), 0.2, (TRIALS, 3))):
        lows = [float(grid[grid <= t].max()) for t in truths]
        highs = [float(grid[grid > t].min()) if (grid > t).any() else math.inf for t in truths]
        found = interval([Repeat(lo, lo, hi) for lo, hi in zip(lows, highs, strict=True)], 0.95)
        covered += found.low <= 24.0 <= found.high
    assert covered / TRIALS >= 0.95 - 0.005


def test_a_share_counted_zero_everywhere_keeps_its_binomial_width() -> None:
    repeats = [Repeat(0.0, 0.0, 0.0, count=(0, 500)) for _ in range(3)]
    found = interval(repeats, 0.95)
    assert found.low == 0.0 and found.high == pytest.approx(intervals.wilson(0, 1500, 0.95)[1])
    assert found.high > 0.001
