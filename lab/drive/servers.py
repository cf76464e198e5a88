"""The server under test (uvicorn, gunicorn with uvicorn workers, granian or hypercorn), as one owned
process group."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from lab.drive.checks import wait_healthy
from lab.drive.processes import Stopped, affinity, port_in_use, spawn, stop, wait_port_free
from lab.errors import CellError, LabError
from lab.paths import ROOT
from lab.record.models import Restart
from lab.scenario.models import ServerSettings, gunicorn_worker


def server_python(setting: str) -> str:
    """The interpreter that serves the app: the scenario's `server.python` (relative to the project
    root unless absolute; a venv's python is a symlink, kept as is so the venv stays in force), else
    the lab's own."""
    if not setting:
        return sys.executable
    path = Path(setting) if Path(setting).is_absolute() else ROOT / setting
    if not path.is_file():
        raise LabError(
            f"server.python {setting!r}: no interpreter at {path}; give the service environment's python "
            "(e.g. .venv/bin/python), or leave it out to serve with the lab's own"
        )
    return str(path)


def command(app: str, server: ServerSettings, port: int, python: str = sys.executable) -> list[str]:
    """The server's command line for `app` on `port`; every kind logs at warning unless the access
    log is on, which needs info (each server writes access lines at info)."""
    level = "info" if server.access_log else "warning"
    if server.kind == "uvicorn":
        cmd = [
            *(python, "-m", "uvicorn", app, "--host", server.host, "--port", str(port)),
            *("--workers", str(server.workers), "--loop", server.loop, "--http", server.http),
            "--access-log" if server.access_log else "--no-access-log",
            *("--log-level", level),
        ]
    elif server.kind == "gunicorn":
        # gunicorn's uvicorn worker reads loop/http from its class (validated in ServerSettings).
        worker = gunicorn_worker(server)
        assert worker is not None
        cmd = [
            *(python, "-m", "gunicorn", app, "--bind", f"{server.host}:{port}"),
            *("--workers", str(server.workers), "--worker-class", worker),
            *("--graceful-timeout", str(int(server.stop_grace_s)), "--log-level", level),
            *(("--access-logfile", "-") if server.access_log else ()),
        ]
    elif server.kind == "granian":
        cmd = [
            *(python, "-m", "granian", "--interface", "asgi", "--host", server.host, "--port", str(port)),
            *("--workers", str(server.workers), "--runtime-threads", str(server.runtime_threads)),
            *("--blocking-threads", str(server.blocking_threads), "--loop", server.loop),
            # HTTP/1.1 only, as every other kind serves it here; no websockets, which no app uses.
            *("--http", "1", "--no-ws", "--log-level", level),
            "--access-log" if server.access_log else "--no-access-log",
            *("--workers-kill-timeout", str(max(1, int(server.stop_grace_s)))),
            app,
        ]
    else:
        cmd = [
            *(python, "-m", "hypercorn", app, "--bind", f"{server.host}:{port}"),
            *("--workers", str(server.workers), "--worker-class", server.loop),
            *("--graceful-timeout", str(max(1, int(server.stop_grace_s))), "--log-level", level),
            *(("--access-logfile", "-") if server.access_log else ()),
        ]
    return cmd + server.flags


class Server:
    """Context manager: started and healthy inside, stopped and its port free after."""

    def __init__(
        self,
        app: str,
        server: ServerSettings,
        port: int,
        *,
        cores: list[int],
        env: dict[str, str],
        log: Path,
        cwd: Path,
        what: str,
        python: str = sys.executable,
    ) -> None:
        self.app, self.settings, self.port, self.what, self.python = app, server, port, what, python
        self.cores, self.env, self.log, self.cwd = cores, env, log, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None
        self.affinity: list[int] | None = None  # read back once healthy: what was in force
        self.stopped: Stopped | None = None
        self.restarts: list[Restart] = []
        self._restart_error: CellError | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.RLock()  # a restart and the final stop never overlap

    def __enter__(self) -> Server:
        host = self.settings.host
        if port_in_use(host, self.port):
            raise CellError(f"port {self.port} on {host} is taken; free it or choose another with --port")
        self._start()
        return self

    def _start(self) -> None:
        self.proc = spawn(
            command(self.app, self.settings, self.port, self.python),
            cores=self.cores,
            env={**self.env, **self.settings.env},
            log=self.log,
            cwd=self.cwd,
        )
        try:
            startup = wait_healthy(
                self.proc,
                self.settings.host,
                self.port,
                self.settings.startup_timeout_s,
                self.log,
                self.what,
                self.settings.health,
            )
            self.startup_s = startup if self.startup_s is None else self.startup_s  # the first start's
            self.affinity = affinity(self.proc.pid)
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def schedule_restart(self, load_t0: float, on_restart: Callable[[int], None]) -> None:
        """Arm the scenario's restart (`restart_at_s` after the load's start on the wall clock);
        `on_restart(pid)` is called with the new server's pid. Nothing happens without one."""
        at = self.settings.restart_at_s
        if at is None:
            return
        self._timer = threading.Timer(max(0.0, load_t0 + at - time.time()), self._restart, (load_t0, on_restart))
        self._timer.daemon = True
        self._timer.start()

    def _restart(self, load_t0: float, on_restart: Callable[[int], None]) -> None:
        with self._lock:
            if self.proc is None:  # the cell ended first
                return
            at_s = time.time() - load_t0
            grace = self.settings.restart_grace_s
            stopped = stop(self.proc, grace)
            down = time.monotonic()
            self.proc = None
            try:
                if not wait_port_free(self.settings.host, self.port):
                    raise CellError(f"{self.what}: port {self.port} still taken after the restart's stop")
                self._start()
            except CellError as exc:
                self._restart_error = exc
                return
            assert self.proc is not None
            self.restarts.append(
                Restart(
                    at_s=round(at_s, 3),
                    grace_s=grace,
                    code=stopped.code,
                    killed=stopped.killed,
                    down_s=round(time.monotonic() - down, 3),
                )
            )
            on_restart(self.proc.pid)

    def check_restart(self) -> None:
        """After the load: a restart that was due must have happened, and brought the server back."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        if self._restart_error is not None:
            raise self._restart_error
        if self._timer is not None and not self.restarts:
            raise CellError(f"{self.what}: the restart at {self.settings.restart_at_s:g}s came after the load ended")

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self.proc is None:
                return
            self.stopped = stop(self.proc, self.settings.stop_grace_s)
            self.proc = None
        if not wait_port_free(self.settings.host, self.port):
            raise CellError(f"{self.what}: port {self.port} still taken after the server stopped")
