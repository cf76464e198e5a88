"""The queue model as a check: gaps between measured and model percentiles, called only where decided."""

from __future__ import annotations

import pytest

from lab.analysis.queue_check import GAP, Row, _gap, verdict


def test_a_gap_is_called_only_when_its_interval_is_past_fifteen_percent_below_rho_point_nine() -> None:
    close = _gap([(1.02, 40.0), (0.97, 42.0), (1.05, 38.0)], load=0.6)
    assert close.status == "within" and close.interval is not None and close.interval.high <= 1 + GAP
    assert close.measured == pytest.approx(0.97 * 42) and close.predicted == 40.0  # medians of each
    wide = _gap([(1.40, 40.0), (1.55, 42.0), (1.45, 38.0)], load=0.6)
    assert wide.status == "gap" and wide.shown().startswith("+45%")
    noisy = _gap([(0.9, 40.0), (1.5, 42.0), (1.1, 38.0)], load=0.6)  # straddles 1.15: not decided
    assert noisy.status == "unclear"
    # Past rho 0.9 the gap is shown, not called: a window's few bursts set both sides.
    assert _gap([(1.40, 40.0), (1.55, 42.0), (1.45, 38.0)], load=0.95).status == "past rho 0.9"
    single = _gap([(1.40, 40.0)], load=0.6)
    assert single.status == "one repeat" and single.interval is None and single.shown() == "+40%"
    # A measured percentile past the failures (infinite) has a ratio but no t-interval.
    assert _gap([(float("inf"), 40.0), (1.2, 40.0)], load=0.5).status == "unclear"


def test_a_row_reads_as_its_worst_percentile() -> None:
    within = _gap([(1.0, 10.0), (1.01, 10.0)], 0.4)
    gap = _gap([(1.5, 10.0), (1.52, 10.0)], 0.4)
    assert verdict(Row("bad", 20, 0.4, 2, {"p50": within, "p90": within, "p99": within}, {})) == "within 15%"
    assert verdict(Row("bad", 30, 0.6, 2, {"p50": within, "p90": gap, "p99": gap}, {})) == "gap at p90, p99"
