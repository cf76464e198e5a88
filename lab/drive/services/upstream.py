"""The upstream service for a run: started, configured, armed with its fault schedule, sampled."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from lab.drive.processes import free_port, spawn, stop, tail
from lab.errors import LabError
from lab.paths import ROOT

READY_TIMEOUT_S = 10.0
TIME_WAIT = "06"  # the state column of /proc/net/tcp


class UpstreamService:
    """Context manager: a running upstream on loopback; `url` for the apps, `control()` for the lab."""

    def __init__(
        self, *, mode: dict[str, Any], env: dict[str, str], cores: list[int], log: Path, control_url: str = ""
    ) -> None:
        """`control_url`: a target's own upstream (the compose stack's), reached on its control port;
        the lab starts none, configures and samples that one."""
        self.mode, self.env, self.cores, self.log = mode, env, cores, log
        self.attached = bool(control_url)
        if self.attached:
            parts = urlsplit(control_url)
            if parts.scheme != "http" or not parts.hostname or not parts.port:
                raise LabError(f"UPSTREAM_CONTROL_URL {control_url!r}: expected http://HOST:PORT")
            self.host, self.port, self.control_port = parts.hostname, 0, parts.port
        else:
            self.host = "127.0.0.1"
            self.port = free_port(self.host)
            self.control_port = free_port(self.host)
        self.url = f"http://{self.host}:{self.port}"
        self.pid: int | None = None
        self._old_time_wait: set[str] = set()
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> UpstreamService:
        if self.attached:
            try:
                self.control("GET", "/stats")
            except OSError as exc:
                raise LabError(
                    f"the target's upstream does not answer at {self.host}:{self.control_port}: {exc}"
                ) from None
            return self
        cmd = [
            sys.executable,
            "-m",
            "lab.drive.upstream_server",
            "--port",
            str(self.port),
            "--control-port",
            str(self.control_port),
            "--mode",
            json.dumps(self.mode),
        ]
        self._proc = spawn(cmd, cores=self.cores, env=self.env, log=self.log, cwd=ROOT)
        self.pid = self._proc.pid
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self._proc.poll() is not None:
                self.__exit__(None, None, None)
                raise LabError(f"the upstream service exited at start: {tail(self.log, 2) or 'no output'}")
            try:
                self.control("GET", "/stats")
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise LabError(f"the upstream service did not answer within {READY_TIMEOUT_S:g}s") from None
                time.sleep(0.02)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            stop(self._proc, grace_s=2.0)
            self._proc = None

    def control(self, method: str, path: str, payload: Any = None, timeout_s: float = 2) -> dict[str, Any]:
        conn = http.client.HTTPConnection(self.host, self.control_port, timeout=timeout_s)
        try:
            body = json.dumps(payload).encode() if payload is not None else None
            conn.request(method, path, body=body, headers={"content-type": "application/json"})
            answer: dict[str, Any] = json.loads(conn.getresponse().read())
            return answer
        finally:
            conn.close()

    def reset(self) -> None:
        """Back to the base mode with no schedule, before each cell. Sockets already in TIME_WAIT
        (they linger for a minute) belong to the previous cell and are not counted in this one."""
        self.control("POST", "/config", self.mode)
        self.control("POST", "/arm", {"t0": 0, "schedule": []})
        self._old_time_wait = self._time_wait()

    def _time_wait(self) -> set[str]:
        """Sockets in TIME_WAIT towards the upstream's port, from /proc/net/tcp directly (psutil's
        net_connections maps every socket to its process, far too costly twice a second)."""
        found: set[str] = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) > 3 and fields[3] == TIME_WAIT and int(fields[2].rsplit(":", 1)[1], 16) == self.port:
                    found.add(f"{fields[1]}>{fields[2]}")
        return found

    def taken_keys(self) -> list[str]:
        """The idempotency keys of the writes the upstream took since the cell began, repeats included."""
        return list(self.control("GET", "/keys", timeout_s=10)["keys"])

    def arm(self, t0: float, schedule: list[dict[str, Any]]) -> None:
        self.control("POST", "/arm", {"t0": t0, "schedule": schedule})

    def read(self) -> dict[str, float]:
        """A probe for the sampler: the upstream's counters, and TIME_WAIT sockets towards it."""
        stats = self.control("GET", "/stats")
        out = {
            "upstream_requests": stats["requests"],
            "upstream_connections_opened": stats["connections_opened"],
            "upstream_connections_open": stats["connections_open"],
            "upstream_inflight": stats["inflight"],
            "upstream_hanging": stats["hanging"],
        }
        if not self.attached:  # a target's sockets may live in another network namespace: absent
            out["upstream_time_wait"] = len(self._time_wait() - self._old_time_wait)
        return out
