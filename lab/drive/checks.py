"""HTTP checks before load: readiness (a probe, never a sleep) and one correct answer per route."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from lab.drive.processes import tail
from lab.errors import CellError
from lab.scenario.models import Check


def get(host: str, port: int, path: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_healthy(
    proc: subprocess.Popen[bytes], host: str, port: int, timeout_s: float, log: Path, what: str, path: str = "/health"
) -> float:
    """Poll GET `path` (the readiness route) until it answers 200; returns seconds from now until it did."""
    start = time.monotonic()
    last = "no answer"
    while time.monotonic() - start < timeout_s:
        code = proc.poll()
        if code is not None:
            raise CellError(f"{what} exited during start (code {code}): {tail(log, 2) or 'no output'}")
        try:
            status, _ = get(host, port, path, timeout_s=1.0)
            if status == 200:
                return time.monotonic() - start
            last = f"{path} answered {status}"
        except OSError as exc:
            last = f"{path}: {exc.__class__.__name__}"
        time.sleep(0.02)
    raise CellError(f"{what} did not become healthy within {timeout_s:g}s ({last}): {tail(log, 2) or 'no output'}")


def verify_answers(host: str, port: int, checks: list[Check], what: str) -> dict[str, Any]:
    """Every check must answer its status and, where given, exactly its JSON body.

    Returns the bodies seen, keyed by path, so variants can be compared with each other."""
    seen: dict[str, Any] = {}
    for check in checks:
        try:
            status, raw = get(host, port, check.path)
        except OSError as exc:
            raise CellError(f"{what}: GET {check.path} failed: {exc}") from None
        if status != check.status:
            raise CellError(f"{what}: GET {check.path} answered {status}, expected {check.status}")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        if check.body is not None and body != check.body:
            raise CellError(f"{what}: GET {check.path} answered {_short(body)}, expected {_short(check.body)}")
        if check.first is not None and not (isinstance(body, list) and body and body[0] == check.first):
            got = body[0] if isinstance(body, list) and body else body
            raise CellError(f"{what}: GET {check.path}: first element {_short(got)}, expected {_short(check.first)}")
        # What the variants must agree on: the whole body, or only the part that was checked.
        seen[check.path] = check.first if check.first is not None else body
    return seen


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
