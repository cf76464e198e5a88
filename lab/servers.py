"""The server under test: uvicorn or gunicorn with uvicorn workers, as one owned process group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType

from lab.checks import wait_healthy
from lab.errors import CellError
from lab.processes import Stopped, affinity, port_in_use, spawn, stop, wait_port_free
from lab.scenario import ServerSettings, gunicorn_worker


def command(app: str, server: ServerSettings, port: int, python: str = sys.executable) -> list[str]:
    if server.kind == "uvicorn":
        cmd = [
            python,
            "-m",
            "uvicorn",
            app,
            "--host",
            server.host,
            "--port",
            str(port),
            "--workers",
            str(server.workers),
            "--loop",
            server.loop,
            "--http",
            server.http,
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    else:
        # gunicorn's uvicorn worker reads loop/http from its class (validated in ServerSettings).
        worker = gunicorn_worker(server)
        assert worker is not None
        cmd = [
            python,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"{server.host}:{port}",
            "--workers",
            str(server.workers),
            "--worker-class",
            worker,
            "--graceful-timeout",
            str(int(server.stop_grace_s)),
            "--log-level",
            "warning",
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

    def __enter__(self) -> Server:
        host = self.settings.host
        if port_in_use(host, self.port):
            raise CellError(f"port {self.port} on {host} is taken; free it or choose another with --port")
        self.proc = spawn(
            command(self.app, self.settings, self.port, self.python),
            cores=self.cores,
            env={**self.env, **self.settings.env},
            log=self.log,
            cwd=self.cwd,
        )
        try:
            self.startup_s = wait_healthy(
                self.proc, host, self.port, self.settings.startup_timeout_s, self.log, self.what
            )
            self.affinity = affinity(self.proc.pid)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        self.stopped = stop(self.proc, self.settings.stop_grace_s)
        self.proc = None
        if not wait_port_free(self.settings.host, self.port):
            raise CellError(f"{self.what}: port {self.port} still taken after the server stopped")
