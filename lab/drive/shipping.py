"""A worker on another host sends its raw files to the master over Locust's own messages.

A Locust worker forked by the lab's master writes its files straight into the cell's folder
(`<lab-out>/gen-<index>/`). A worker started elsewhere (`lab worker --master HOST`) has no such
folder: it writes into a folder of its own and ships each file to the master as it grows, through
Locust's custom messages (`runner.send_message`), on the connection it already has. The master's
plugin writes what arrives under the cell's folder, so the lab merges a remote worker's files exactly
like a local one's. The one message back, `lab_stop`, carries the moment a decided step ends.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.paths import write_atomic

FILE = "lab_file"  # worker -> master: {"path": "gen-N/<file>", "offset": int | None, "data": str}
STOP = "lab_stop"  # master -> workers: {"at": wall-clock end of the step}
# Rows are only ever appended to these; the others are rewritten whole.
APPENDED = ("requests.csv",)
WHOLE = ("window.json", "progress.json", "in_flight.csv", "confirmed_keys.txt")
_PATH = re.compile(r"^gen-\d{1,3}/(?:" + "|".join(re.escape(n) for n in (*APPENDED, *WHOLE)) + r")$")
# The environment variable `lab worker` sets: the worker's own folder (and that it is remote).
WORKER_DIR = "LAB_WORKER_DIR"


def worker_dir() -> Path | None:
    value = os.environ.get(WORKER_DIR)
    return Path(value) if value else None


class Shipper:
    """Sends what is new in a worker's folder: appended files from where the last send ended (whole
    lines only), whole files when they changed."""

    def __init__(self, send: Callable[[dict[str, Any]], None], folder: Path) -> None:
        self.send, self.folder = send, folder
        self.offsets: dict[str, int] = {}
        self.sent: dict[str, bytes] = {}

    def ship(self) -> int:
        """Send what changed; returns the bytes sent."""
        total = 0
        for name in APPENDED:
            path = self.folder / name
            if not path.is_file():
                continue
            offset = self.offsets.get(name, 0)
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
            data = data[: data.rfind(b"\n") + 1]  # a row still being written goes with the next send
            if data:
                self.send({"path": f"{self.folder.name}/{name}", "offset": offset, "data": data.decode()})
                self.offsets[name] = offset + len(data)
                total += len(data)
        for name in WHOLE:
            path = self.folder / name
            if not path.is_file():
                continue
            data = path.read_bytes()
            if self.sent.get(name) != data:
                self.send({"path": f"{self.folder.name}/{name}", "offset": None, "data": data.decode()})
                self.sent[name] = data
                total += len(data)
        return total


def receive(root: Path, message: dict[str, Any]) -> None:
    """On the master: write a shipped piece under the cell's folder. Anything but a worker's own
    files (`gen-N/requests.csv`...) is refused: a worker never writes outside its folder."""
    path = str(message.get("path", ""))
    if not _PATH.match(path):
        raise ValueError(f"a worker shipped {path!r}, which is not one of its files")
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    data = str(message["data"]).encode()
    offset = message.get("offset")
    if offset is None:
        write_atomic(target, data.decode())
        return
    # At its offset: a piece sent twice is written twice in the same place, never appended twice.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, int(offset))
    finally:
        os.close(fd)
