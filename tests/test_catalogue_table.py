"""The README's measured table comes from run records: every claim of the newest run, as measured."""

from __future__ import annotations

from lab.catalogue import BEGIN, END, refresh, table
from tests.recorded import RUNS, loop_blocking


def test_the_table_shows_each_claim_as_measured() -> None:
    rec = loop_blocking()
    text = table(RUNS, profile="quick")
    assert f"loop-blocking {rec.run_id}" in text
    for claim in rec.claims:
        row = next(line for line in text.splitlines() if claim.text in line)
        assert f"{claim.value:.3g}x ({claim.low:.3g}-{claim.high:.3g})" in row
        assert f"| {claim.verdict} | not run |" in row  # no null-mode run recorded
    assert "| `session-leak` | (no complete quick run yet) |" in text


def test_refresh_replaces_only_between_the_markers() -> None:
    text = f"before\n{BEGIN}\nold\n{END}\nafter\n"
    out = refresh(text, RUNS)
    assert out.startswith(f"before\n{BEGIN}\n") and out.endswith(f"\n{END}\nafter\n") and "old" not in out
