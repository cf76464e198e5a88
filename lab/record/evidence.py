"""The catalogue's evidence, committed with the code: `results/evidence/<scenario>/<run_id>.tar.xz`.

`results/<scenario>/<run_id>/` is never committed (a run's raw files are tens of megabytes). The
runs behind the measured table travel as packs instead:
- a measured run with what its report draws from: run.json, samples.csv, and each step's window and
  per-request rows (`requests.csv`, `in_flight.csv`, `confirmed_keys.txt`); Locust's own logs and
  stats stay out (the record already holds what was read from them);
- a null-mode run as its run.json alone, which is all an audit reads.

A fresh clone restores them into `results/` before a report or the table is built, so every figure
on the catalogue's pages can be rebuilt and checked without re-running anything. Packs are
byte-for-byte reproducible (sorted members, zeroed owners and times): packing a run again changes no
file, so git history grows only when a run is replaced.
"""

from __future__ import annotations

import io
import lzma
import tarfile
from pathlib import Path

from lab.errors import LabError
from lab.paths import RESULTS, shown

EVIDENCE = RESULTS / "evidence"
SUFFIX = ".tar.xz"
# What a report reads from a run folder besides run.json (lab/report/data.py, lab/record/raw.py).
REPORTED = ("samples.csv", "window.json", "requests.csv", "in_flight.csv", "confirmed_keys.txt")


def pack_path(scenario: str, run_id: str, evidence: Path = EVIDENCE) -> Path:
    return evidence / scenario / f"{run_id}{SUFFIX}"


def _members(directory: Path, full: bool) -> list[Path]:
    if not full:
        return [directory / "run.json"]
    return sorted(p for p in directory.rglob("*") if p.is_file() and (p.name == "run.json" or p.name in REPORTED))


def pack(directory: Path, full: bool, evidence: Path = EVIDENCE) -> Path:
    """Write a run folder's pack (all that its report reads when `full`, else its record alone)."""
    if not (directory / "run.json").is_file():
        raise LabError(f"{shown(directory)}: no run.json to pack")
    target = pack_path(directory.parent.name, directory.name, evidence)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _members(directory, full):
            info = tarfile.TarInfo(f"{directory.name}/{path.relative_to(directory).as_posix()}")
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    packed = lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME)
    if not target.is_file() or target.read_bytes() != packed:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(packed)
    return target


def packs(evidence: Path = EVIDENCE) -> list[Path]:
    return sorted(evidence.glob(f"*/*{SUFFIX}")) if evidence.is_dir() else []


def restore(root: Path = RESULTS, evidence: Path = EVIDENCE) -> list[Path]:
    """Unpack every pack whose run is not in `root` yet; a run already there is left as it is."""
    restored = []
    for path in packs(evidence):
        run_id = path.name.removesuffix(SUFFIX)
        folder = root / path.parent.name
        if (folder / run_id / "run.json").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(path, mode="r:xz") as tar:
                names = tar.getnames()
                if not names or any(n.split("/", 1)[0] != run_id for n in names):
                    raise LabError(f"{shown(path)}: holds files outside {run_id}/; a pack holds one run")
                tar.extractall(folder, filter="data")  # no absolute paths, links or devices
        except (tarfile.TarError, lzma.LZMAError, EOFError) as exc:
            raise LabError(f"{shown(path)}: not a readable pack ({exc}); restore it with git checkout") from None
        restored.append(folder / run_id)
    return restored
