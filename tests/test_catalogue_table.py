"""The README's measured table comes from run records: every claim of the newest run, as measured."""

from __future__ import annotations

from lab.report.catalogue import BEGIN, END, OLDER_NOTE, refresh, table
from lab.scenario import loading
from tests.recorded import RUNS, loop_blocking


def test_the_table_shows_each_claim_as_measured() -> None:
    rec = loop_blocking()
    text = table(RUNS, profile="quick")
    # Recorded in schema 2: its intervals are the old bootstrap, and the table says so.
    assert f"loop-blocking {rec.run_id} [schema 2]" in text and OLDER_NOTE in text
    for claim in rec.claims:
        row = next(line for line in text.splitlines() if claim.text in line)
        # its interval is the range of its 2 repeats, labelled with the coverage that has, not 95 %
        assert f"{claim.value:.3g}x ({claim.low:.3g}-{claim.high:.3g}; range of 2 repeats, 50.0% coverage)" in row
        assert f"| {claim.verdict} | not run |" in row  # no null-mode run recorded
    assert "| `session-leak` | (no complete quick run yet) |" in text


def test_refresh_replaces_only_between_the_markers() -> None:
    text = f"before\n{BEGIN}\nold\n{END}\nafter\n"
    out = refresh(text, RUNS)
    assert out.startswith(f"before\n{BEGIN}\n") and out.endswith(f"\n{END}\nafter\n") and "old" not in out


def test_a_scenario_without_runs_here_keeps_its_rows_while_its_claims_are_current() -> None:
    # A fresh clone has results for some scenarios only: the others keep the rows the table had,
    # attributed to the machine they were measured on; rows of claims since changed become a note.
    leak = loading.load("session-leak")
    current = [f"| `session-leak` | {c.text} | <= 0 | 0 (0-0) | pass | pass (guard) |" for c in leak.claims]
    reworded = "| `n-plus-one` | a claim worded otherwise since | >= 4x | 6x (5.96-6.06) | pass | fail |"
    old = (
        "Measured on Old CPU, 2 cores; runs: session-leak 20261122T191422958Z [schema 2] (null 20261122T191913506Z), "
        "n-plus-one 20261122T100834504Z.\n\n" + "\n".join([*current, reworded])
    )
    text = table(RUNS, profile="default", old=f"\n{old}\n")
    # kept from a schema-2 run: each interval labelled as the repeats' range it is
    labelled = [r.replace("| 0 (0-0) |", "| 0 (0-0; range of 2-4 repeats, at most 87.5 % coverage) |") for r in current]
    assert all(row in text for row in labelled)
    assert (
        "Kept from the table's previous version (their records are not in the repository: rerun them to "
        "check), measured on Old CPU, 2 cores; runs: "
        "session-leak 20261122T191422958Z [schema 2] (null 20261122T191913506Z)." in text
    )
    assert text.count(OLDER_NOTE) == 1  # the mark travels with the kept rows, and so does its note
    assert "| `n-plus-one` | (claims changed since run 20261122T100834504Z: rerun it) |" in text
    assert reworded not in text
    # Refreshing again changes nothing: the note keeps its run id, the kept rows their machine.
    again = refresh(f"{BEGIN}\n{text}\n{END}", RUNS)
    assert again == f"{BEGIN}\n{text}\n{END}"


def test_the_pitfall_table_is_made_from_the_scenario_files_and_a_new_one_needs_no_catalogue_table() -> None:
    from lab.report import pitfalls
    from lab.scenario import loading

    text = pitfalls.table()
    assert len(text.splitlines()) == 2 + len(loading.known())  # a row per scenario, none typed in
    blocking = loading.load("loop-blocking")
    assert pitfalls.row(blocking).startswith(
        f"| {blocking.catalogue.pitfall} | [`loop-blocking`](apps/loop_blocking/README.md)"
    )
    bare = blocking.model_copy(update={"catalogue": type(blocking.catalogue)()})
    assert pitfalls.row(bare) == (
        f"| {blocking.title} | [`loop-blocking`](apps/loop_blocking/README.md) | `bad`, `fix_await`, `fix_threadpool` "
        f"| {blocking.claim} |  |"
    )
