"""The catalogue's evidence travels with the code: packs of the runs behind the measured table,
restored into `results/` so the table and every report rebuild from them on a fresh clone."""

from __future__ import annotations

import filecmp
import io
import lzma
import tarfile
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.paths import ROOT
from lab.record import evidence, store
from lab.report import catalogue
from tests.recorded import RUNS

RUN = RUNS / "loop-blocking" / "20261122T062030135Z"


def test_a_pack_restores_what_the_report_reads_and_packing_again_changes_no_byte(tmp_path: Path) -> None:
    packs, results = tmp_path / "evidence", tmp_path / "results"
    path = evidence.pack(RUN, full=True, evidence=packs)
    first = path.read_bytes()
    assert evidence.pack(RUN, full=True, evidence=packs).read_bytes() == first  # no churn in git
    assert evidence.restore(results, packs) == [results / "loop-blocking" / RUN.name]
    restored = results / "loop-blocking" / RUN.name
    kept = sorted(p.relative_to(restored) for p in restored.rglob("*") if p.is_file())
    assert Path("run.json") in kept and Path("samples.csv") in kept
    assert any(p.name == "requests.csv" for p in kept) and any(p.name == "window.json" for p in kept)
    assert not any(p.name.startswith("locust") or p.suffix == ".log" for p in kept)  # Locust's own files stay out
    assert all(filecmp.cmp(RUN / p, restored / p, shallow=False) for p in kept)
    assert store.load(restored).run_id == RUN.name
    assert evidence.restore(results, packs) == []  # a run already there is left alone
    record_only = evidence.pack(RUN, full=False, evidence=tmp_path / "nulls")
    with tarfile.open(record_only) as tar:
        assert tar.getnames() == [f"{RUN.name}/run.json"]


def test_a_pack_holding_anything_but_its_run_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("elsewhere/run.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    bad = tmp_path / "evidence" / "loop-blocking" / "20261122T062030135Z.tar.xz"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(lzma.compress(buffer.getvalue()))
    with pytest.raises(LabError, match="holds files outside 20261122T062030135Z/"):
        evidence.restore(tmp_path / "results", tmp_path / "evidence")
    bad.write_bytes(b"not xz")
    with pytest.raises(LabError, match="not a readable pack"):
        evidence.restore(tmp_path / "results", tmp_path / "evidence")


def test_the_committed_table_rebuilds_from_the_committed_evidence(tmp_path: Path) -> None:
    # The check a reader can run: the measured table, regenerated from nothing but the packs in the
    # repository, is the table the repository shows (each measured row, interval and verdict).
    assert evidence.packs(), "no committed evidence in results/evidence/"
    evidence.restore(tmp_path, evidence.EVIDENCE)
    text = (ROOT / "docs" / "measured.md").read_text()
    shown = text.split(catalogue.BEGIN, 1)[1].split(catalogue.END, 1)[0]
    assert catalogue.table(tmp_path, old=shown).strip() == shown.strip()
    behind = catalogue.behind(tmp_path)
    packed = {(p.parent.name, p.name.removesuffix(evidence.SUFFIX)) for p in evidence.packs()}
    used = {(name, r.run_id) for name, (m, nulls) in behind.items() for r in [m, *nulls]}
    assert packed == used  # nothing packed that the table does not use, nothing used that is not packed


def test_an_index_card_without_records_says_where_its_table_rows_came_from(tmp_path: Path) -> None:
    from lab.report.index import build_index

    kept = catalogue.shown_sources(ROOT / "docs" / "measured.md")
    packed = {p.parent.name for p in evidence.packs()}
    without = sorted(set(kept) - packed)
    html = build_index(tmp_path / "results", tmp_path / "reports").read_text()
    for name in without:  # rows measured elsewhere, records lost: the card says so, with the run
        run_id = kept[name][0].split()[1]
        assert f"has its rows from run {run_id}" in html, name
    assert html.count("whose records are not in the repository") == len(without)
