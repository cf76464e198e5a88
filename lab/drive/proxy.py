"""nginx in front of the app under test: Debian's nginx, configured from the scenario, loopback only.

Started per cell once the app is healthy (its upstream is that cell's port) and stopped with it,
like the server: its own session, pinned, tagged, its error log kept in the cell's folder. The load
then goes to nginx's port. The configuration is written out beside the log, so a reader sees
exactly what ran.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from lab.drive.checks import get
from lab.drive.processes import Stopped, free_port, port_in_use, spawn, stop, tail, wait_port_free
from lab.errors import CellError, LabError
from lab.scenario.models import ProxySettings

READY_TIMEOUT_S = 10.0
CANDIDATES = ("nginx", "/usr/sbin/nginx")


def binary() -> str:
    """Debian's nginx, or a one-line error saying how to get it."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise LabError("nginx is not installed; `apt-get install nginx` (Debian's package), then run again")


def _ms(seconds: float) -> str:
    """A time as nginx reads it: whole milliseconds (nginx refuses `0.5s`, takes `500ms`)."""
    return f"{round(seconds * 1000)}ms"


def config(
    settings: ProxySettings,
    listen: int,
    upstream: int,
    folder: Path,
    host: str = "127.0.0.1",
    upstream_host: str = "",
    error_log: str = "",
    user: str = "",
) -> str:
    """nginx.conf for one cell: one upstream (the app), one server on `host` (loopback), nothing
    outside `folder` written (pid, logs and every temporary path live there, so no root is needed).
    The compose stack's proxy listens on its container's every address, in front of the `app`
    service, and logs to stderr."""
    keepalive = (
        f"        keepalive {settings.keepalive};\n        keepalive_timeout {_ms(settings.keepalive_timeout_s)};\n"
        f"        keepalive_requests {settings.keepalive_requests};\n"
        if settings.keepalive
        else ""
    )
    # With upstream keep-alive, HTTP/1.1 and an empty Connection header are what keep the
    # connection open (nginx's defaults are 1.0 and "close").
    reuse = '            proxy_http_version 1.1;\n            proxy_set_header Connection "";\n'
    temp = "".join(f"    {kind}_temp_path {folder / ('nginx-' + kind)};\n" for kind in TEMP_PATHS)
    return (
        f"{f'user {user};' if user else ''}\nworker_processes {settings.workers};\n"
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {error_log or folder / 'nginx-error.log'} {settings.error_log_level};\n"
        "daemon off;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        f"    access_log {'off' if not settings.access_log else folder / 'nginx-access.log'};\n"
        f"{temp}"
        "    upstream app {\n"
        f"        server {upstream_host or host}:{upstream};\n"
        f"{keepalive}"
        "    }\n"
        "    server {\n"
        f"        listen {host}:{listen} backlog=4096;\n"
        f"        client_max_body_size {settings.client_max_body_size};\n"
        f"        proxy_read_timeout {_ms(settings.read_timeout_s)};\n"
        "        location / {\n"
        "            proxy_pass http://app;\n"
        f"{reuse if settings.keepalive else ''}"
        "            proxy_set_header Host $host;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class Proxy:
    """Context manager: nginx answering on `port` (loopback) in front of the app on `upstream`."""

    def __init__(
        self,
        settings: ProxySettings,
        upstream: int,
        *,
        cores: list[int],
        env: dict[str, str],
        folder: Path,
        health: str,
        host: str = "127.0.0.1",
    ) -> None:
        self.settings, self.upstream, self.cores, self.env = settings, upstream, cores, env
        self.folder, self.health, self.host = folder, health, host
        self.port = free_port(host)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped: Stopped | None = None
        self.conf = folder / "nginx.conf"
        self.log = folder / "nginx.log"  # what nginx prints before its error log is open

    @property
    def error_log(self) -> Path:
        return self.folder / "nginx-error.log"

    def __enter__(self) -> Proxy:
        nginx = binary()
        if port_in_use(self.host, self.port):
            raise CellError(f"port {self.port} on {self.host} is taken; nginx cannot listen there")
        for kind in TEMP_PATHS:
            (self.folder / f"nginx-{kind}").mkdir(parents=True, exist_ok=True)
        # As root, nginx would run its workers as `nobody`, who may not write the cell's folder (a
        # large body goes to a temporary file there); the lab's own user keeps it all in one place.
        user = "root" if os.geteuid() == 0 else ""
        self.conf.write_text(config(self.settings, self.port, self.upstream, self.folder, self.host, user=user))
        # -p: the prefix for anything relative; -e (nginx >= 1.19.5): the error log before the
        # configuration is read, which would otherwise be /var/log/nginx/error.log.
        cmd = [nginx, "-p", str(self.folder), "-e", str(self.error_log), "-c", str(self.conf)]
        self.proc = spawn(cmd, cores=self.cores, env=self.env, log=self.log, cwd=self.folder)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                why = tail(self.error_log, 2) or tail(self.log, 2) or "no output"
                self.stop()
                raise CellError(f"nginx exited at start: {why}")
            try:
                if get(self.host, self.port, self.health, timeout_s=1.0)[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise CellError(f"nginx did not pass {self.health} through within {READY_TIMEOUT_S:g}s")
            time.sleep(0.05)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self) -> None:
        """SIGTERM (nginx's fast shutdown: its workers end at once), SIGKILL after a grace period."""
        if self.proc is None:
            return
        self.stopped = stop(self.proc, 5.0)
        self.proc = None
        if not wait_port_free(self.host, self.port):
            raise CellError(f"nginx: port {self.port} still taken after it stopped")

    def _failures(self) -> Iterator[tuple[str, str]]:
        """Each error-log line about a failed request, with its kind (a key of UPSTREAM_ERRORS)."""
        if not self.error_log.is_file():
            return
        for line in self.error_log.read_text(errors="replace").splitlines():
            for key, words in UPSTREAM_ERRORS.items():
                # A client's own reset says "while reading client request": not the app's doing.
                if words in line and ("upstream" in line or key == "proxy_body_too_large"):
                    yield key, line

    def errors(self) -> dict[str, float]:
        """The error log's upstream failures, by what nginx says happened (the mechanism behind a
        502, in nginx's own words), as the cell's `proxy_*` metrics (lab/metrics.py)."""
        counts = dict.fromkeys((*UPSTREAM_ERRORS, "proxy_upstream_errors"), 0.0)
        for key, _ in self._failures():
            counts[key] += 1
            counts["proxy_upstream_errors"] += key != "proxy_body_too_large"
        return {k: v for k, v in counts.items() if k in METRICS}

    def excerpt(self, most: int = 3) -> list[str]:
        """The error log's first line of each kind of failure (at most `most`), as nginx wrote it but
        for its timestamp and process ids: the evidence the report shows beside the counts, kept in
        the record because the log itself stays in the cell's folder only."""
        found: dict[str, str] = {}
        for key, line in self._failures():
            found.setdefault(key, _LOG_PREFIX.sub("", line)[:400])
        return list(found.values())[:most]


# "2026/12/07 13:38:58 [error] 25556#25556: *7 ": when, and which process and connection.
_LOG_PREFIX = re.compile(r"^\S+ \S+ \[(\w+)\] \d+#\d+: (\*\d+ )?")

# nginx's error-log wording for each way a request fails at the proxy.
UPSTREAM_ERRORS = {
    "proxy_upstream_prematurely_closed": "upstream prematurely closed connection",
    "proxy_upstream_reset": "Connection reset by peer",
    "proxy_upstream_refused": "Connection refused",
    "proxy_upstream_timed_out": "upstream timed out",
    "proxy_body_too_large": "client intended to send too large body",
}
METRICS = {
    "proxy_upstream_errors",
    "proxy_upstream_prematurely_closed",
    "proxy_upstream_reset",
    "proxy_body_too_large",
}
