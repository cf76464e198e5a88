"""Confidence intervals whose coverage is known, for the handful of repeats a run has.

The unit of evidence is the repeat: each runs on a fresh server process, so repeats are independent.
The parts of one repeat's window are not (a queue's delays come in bursts that outlast a third of a
window), so they never count as samples here.

- `t_interval`: Student's t-interval on the repeats' log values (on raw values when one is zero or
  negative). Its estimand is the geometric mean, which is the median when the log values are
  symmetric. Its coverage is exact when the log values are normal and holds within about two points
  for the skewed and heavy-tailed shapes tests/test_intervals.py draws at n = 2 to 6. It needs two
  repeats; with two, t(0.975, 1) = 12.7 makes it wide, as it should be.
- `bounded`: for values known only within a range (a capacity between the rate that met the SLO
  and the rate that missed it), the lower end is the t-bound of the ranges' lower ends and the upper
  end that of their upper ends; the true values lie between, so the coverage is at least stated.
- `order_range`: the repeats' min to max, for values a t-interval cannot take (an infinite arrival
  percentile), at the confidence it has: 1 - 2 x 0.5^n, 75 % for three repeats.
- `wilson`: Wilson's score interval for a share of counts (errors out of requests).

No scipy: the t quantile comes from the regularised incomplete beta function (Lentz's continued
fraction) by bisection.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist, fmean, stdev


@dataclass(frozen=True)
class Interval:
    low: float
    high: float  # math.inf: no upper bound (a capacity past the sweep's top)
    confidence: float
    method: str


def _betacf(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-14
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < eps:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: int) -> float:
    tail = 0.5 * _betai(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=256)
def t_quantile(p: float, df: int) -> float:
    """The t distribution's p-quantile (p > 0.5), by bisection on its CDF."""
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test on the logs of two positive samples (repeats of two
    runs), with the degrees of freedom rounded down (conservative); None with fewer than 2 each or
    a value that is not positive."""
    if len(a) < 2 or len(b) < 2 or min(*a, *b) <= 0:
        return None
    la, lb = [math.log(x) for x in a], [math.log(x) for x in b]
    va, vb = statistics.variance(la) / len(la), statistics.variance(lb) / len(lb)
    if va + vb == 0:
        return 1.0 if statistics.fmean(la) == statistics.fmean(lb) else 0.0
    t = (statistics.fmean(lb) - statistics.fmean(la)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(la) - 1) + vb**2 / (len(lb) - 1))
    return 2 * (1 - t_cdf(abs(t), max(1, math.floor(df))))


def _t_bounds(values: Sequence[float], confidence: float) -> tuple[float, float, bool]:
    """(low, high, on the log scale) of the t-interval of `values`."""
    n = len(values)
    t = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 1)
    logs = all(v > 0 for v in values)
    xs = [math.log(v) for v in values] if logs else list(values)
    centre, half = fmean(xs), t * stdev(xs) / math.sqrt(n)
    if logs:
        return math.exp(centre - half), math.exp(centre + half), True
    return centre - half, centre + half, False


def t_interval(values: Sequence[float], confidence: float) -> Interval:
    if len(values) < 2:
        raise ValueError("a t-interval needs at least two repeats")
    low, high, logs = _t_bounds(values, confidence)
    scale = "log values" if logs else "values (one is not positive, so not on logs)"
    return Interval(low, high, confidence, f"t-interval on {scale} of {len(values)} repeats")


def bounded(lows: Sequence[float], highs: Sequence[float], confidence: float) -> Interval:
    """Repeats whose values are known within [low, high] each (high may be math.inf)."""
    if len(lows) < 2:
        raise ValueError("a t-interval needs at least two repeats")
    low = _t_bounds(lows, confidence)[0]
    high = math.inf if any(math.isinf(h) for h in highs) else _t_bounds(highs, confidence)[1]
    method = (
        f"t-interval on log values of {len(lows)} repeats, each known within a range (lower ends for the lower bound)"
    )
    return Interval(max(low, 0.0) if min(lows) >= 0 else low, high, confidence, method)


def order_range(values: Sequence[float]) -> Interval:
    """The repeats' range (min to max) as an interval for their median: distribution-free, infinite
    values included, and covering with probability 1 - 2 x 0.5^n (75 % for three repeats), which is
    the confidence it states."""
    n = len(values)
    confidence = 1.0 - 2.0 * 0.5**n
    method = f"range of {n} repeats ({confidence:.1%}: one is infinite, so no t-interval)"
    return Interval(min(values), max(values), confidence, method)


def wilson(events: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval for the share events / trials."""
    return score_bounds(events, trials, NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0))


def score_bounds(events: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson's score bounds on events / trials at `z` standard errors (each side)."""
    if trials <= 0:
        return 0.0, 1.0
    p = events / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
