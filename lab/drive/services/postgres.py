"""A real PostgreSQL for a run: a throwaway embedded one, or the user's own via DATABASE_URL.

Embedded: the server binaries bundled by the `pgserver` package (or `postgres` on PATH), a fresh
data folder in /tmp, loopback TCP on a free port, the scenario's `max_connections`, durability
off (a benchmark database is disposable). As root, the server runs as a system user, since
PostgreSQL refuses to run as root. It is an owned, tagged process like every other.

Either way the run gets its own database and an unprivileged role (`lab_app`) for the apps, so
that `max_connections` binds them while the lab's monitoring connection keeps a reserved
superuser slot. Everything is dropped or stopped on exit.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from lab.drive.processes import free_port, scratch_dir, spawn, stop, tail
from lab.errors import LabError

MIN_SERVER_VERSION = 140000  # pg_stat_database.sessions appeared in 14
SYSTEM_USER = "lab-postgres"
APP_ROLE, APP_PASSWORD = "lab_app", "lab"
READY_TIMEOUT_S = 30.0
# How PostgreSQL refuses a connection for lack of slots: all of them, or all but the superusers'.
REFUSALS = ("sorry, too many clients already", "remaining connection slots are reserved")


def binaries() -> Path:
    try:
        import pgserver  # only the embedded server needs it

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
        if (bundled / "postgres").exists():
            return bundled
    except ImportError:
        pass
    found = shutil.which("postgres") or shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise LabError("no PostgreSQL binaries: install the lab's dependencies (make setup) or set DATABASE_URL")


def with_database(url: str, database: str, user: str | None = None, password: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    user = user if user is not None else parts.username
    password = password if password is not None else parts.password
    if user:
        netloc = f"{user}{':' + password if password else ''}@{netloc}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}"


class Postgres:
    """Context manager: `admin_url`, `app_url` (scheme `postgresql://`) and `database` inside."""

    def __init__(
        self,
        *,
        max_connections: int,
        run_id: str,
        env: dict[str, str],
        cores: list[int],
        log: Path,
        attach: bool = False,
    ) -> None:
        """`attach`: DATABASE_URL is a target's own database (lab run --target): the lab creates no
        database of its own there, and reads the server's max_connections instead of setting it."""
        self.max_connections, self.env, self.cores, self.log = max_connections, env, cores, log
        self.database = f"lab_{run_id.lower()}"
        self.external = os.environ.get("DATABASE_URL") or None
        self.attach = attach and self.external is not None
        self.mode: Literal["external", "embedded", "target"] = (
            "target" if self.attach else "external" if self.external else "embedded"
        )
        self.server_url = ""  # the maintenance database: where the run's database is created and dropped
        self.admin_url = ""  # superuser (or the user's role) in the run's database
        self.app_url = ""
        self.version = ""
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log_counter = LogCounter(log)

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Postgres:
        try:
            if self.external:
                self.server_url = self.external
            else:
                self._start_embedded()
            if self.attach:
                self._attach()
            else:
                self._create_database()
        except BaseException:
            self._teardown()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._teardown()

    def _teardown(self) -> None:
        if self.external and self.version and not self.attach:
            try:
                with psycopg.connect(self.server_url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database))
                    )
            except psycopg.Error:
                pass  # the server went away: nothing of ours is left on it to drop
        if self._proc is not None:
            stop(self._proc, grace_s=10.0)
            self._proc = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # -- embedded server -------------------------------------------------------------------
    def _start_embedded(self) -> None:
        bindir = binaries()
        self._workdir = scratch_dir("pg")
        data, sockets = self._workdir / "data", self._workdir / "sock"
        sockets.mkdir()
        as_user: list[str] = []
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", SYSTEM_USER, "--"]
            _ensure_system_user()
            _make_traversable(bindir)
            self._workdir.chmod(0o755)
            for path in (self._workdir, sockets):
                shutil.chown(path, SYSTEM_USER)
        init = subprocess.run(
            [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )
        if init.returncode != 0:
            raise LabError(f"embedded PostgreSQL: initdb failed: {(init.stderr or init.stdout).strip()[-300:]}")
        port = free_port("127.0.0.1")
        self._proc = spawn(
            [
                *as_user,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                str(sockets),
                "-c",
                f"max_connections={self.max_connections}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "shared_buffers=128MB",
                "-c",
                "log_min_messages=warning",
                "-c",
                "log_line_prefix=%m ",
            ],
            cores=self.cores,
            env=self.env,
            log=self.log,
            cwd=self._workdir,
        )
        self.pid = self._proc.pid
        self.server_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self._proc.poll() is not None:
                raise LabError(f"embedded PostgreSQL exited at start: {tail(self.log, 2) or 'no output'}")
            try:
                psycopg.connect(self.server_url, connect_timeout=1).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise LabError(
                        f"embedded PostgreSQL not ready within {READY_TIMEOUT_S:g}s: {tail(self.log, 2)}"
                    ) from None
                time.sleep(0.05)

    # -- the run's database ----------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.server_url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise LabError(f"database unreachable at {_redacted(self.server_url)} (DATABASE_URL): {reason}") from None

    def _create_database(self) -> None:
        where = _redacted(self.server_url)
        with self._connect() as conn:
            version = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
            if version < MIN_SERVER_VERSION:
                raise LabError(f"PostgreSQL at {where} is version {version}; the lab needs 14 or newer")
            self.version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
            except psycopg.errors.InsufficientPrivilege:
                raise LabError(
                    f"the DATABASE_URL user cannot create databases at {where}; "
                    "grant CREATEDB or unset DATABASE_URL to use the embedded server"
                ) from None
            if superuser and superuser[0]:
                # Apps connect as an ordinary role, so max_connections binds them as it would in production.
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone()
                if not exists:
                    conn.execute(
                        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                            sql.Identifier(APP_ROLE), sql.Literal(APP_PASSWORD)
                        )
                    )
                if not self.external:
                    # Statements per request come from this log: the bundled server has no pg_stat_statements.
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} SET log_statement = 'all'").format(sql.Identifier(self.database))
                    )
                conn.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(self.database), sql.Identifier(APP_ROLE)
                    )
                )
                self.app_url = with_database(self.server_url, self.database, APP_ROLE, APP_PASSWORD)
            else:
                self.app_url = with_database(self.server_url, self.database)
        self.admin_url = with_database(self.server_url, self.database)

    def _attach(self) -> None:
        """A target's database: the app's URL is DATABASE_URL itself."""
        with self._connect() as conn:
            self.version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            self.max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
        self.database = urlsplit(self.server_url).path.lstrip("/")
        self.admin_url = self.app_url = self.server_url

    def log_counts(self) -> dict[str, float]:
        """Refused connections and executed statements so far, read from the embedded server's log."""
        if self.external:
            return {}
        return self._log_counter.read()


def _ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )


def _make_traversable(bindir: Path) -> None:
    """The system user must reach the bundled binaries: o+x on every parent folder (as pgserver does)."""
    for folder in [*reversed(bindir.parents), bindir]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


# A request's own transaction idles between its statements for milliseconds; a leaked one stays
# idle in transaction for as long as nobody closes it. Only the second lasts a whole second, so
# the stale count tells a leak from a busy, healthy pool (whose transient count can reach the pool).
# A session held across slow work between statements (a stream fetching page by page) changes state
# at every statement, so it is never stale: its transaction's age tells it apart instead.
STALE_IDLE_S = 1.0
ACTIVITY = f"""
SELECT count(*),
       count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE state = 'idle'),
       count(*) FILTER (WHERE state LIKE 'idle in transaction%%'),
       count(*) FILTER (WHERE state LIKE 'idle in transaction%%'
                        AND clock_timestamp() - state_change > interval '{STALE_IDLE_S} seconds'),
       count(*) FILTER (WHERE clock_timestamp() - xact_start > interval '{STALE_IDLE_S} seconds')
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""
COUNTERS = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
# Statements executed in this database by anyone but the monitor (whose own are about pg_stat_*),
# where the server loads pg_stat_statements (the compose stack does; the embedded server cannot,
# and counts statements from its log instead).
STATEMENTS = """
SELECT sum(calls) FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%%pg_stat%%'
"""


def _has_statements(conn: psycopg.Connection[Any]) -> bool:
    """pg_stat_statements is loaded, and its view exists here (created when the role may)."""
    loaded = conn.execute("SHOW shared_preload_libraries").fetchone()
    if not loaded or "pg_stat_statements" not in str(loaded[0]):
        return False
    with contextlib.suppress(psycopg.Error):  # not ours to create: it may exist already
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    try:
        conn.execute(STATEMENTS).fetchone()
    except psycopg.Error:
        return False
    return True


class LogCounter:
    """Counts, incrementally, the server log lines that matter: refusals and executed statements."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0
        self.counts = {"db_too_many_clients": 0.0, "db_statements": 0.0}

    def read(self) -> dict[str, float]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return dict(self.counts)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next read
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            if any(message in line for message in REFUSALS):
                self.counts["db_too_many_clients"] += 1
            elif "LOG:  statement: " in line or "LOG:  execute " in line:
                self.counts["db_statements"] += 1
        return dict(self.counts)


class Monitor:
    """The lab's own connection to the run's database, read by the sampler every half second.

    Counts client connections by state (the monitor itself excluded), and cumulative counters:
    sessions opened; and, on the embedded server, connections refused for lack of slots and
    statements executed (the run's database logs every statement; the monitor's own are not logged).
    """

    def __init__(self, db: Postgres) -> None:
        self.db = db
        self.conn = psycopg.connect(db.admin_url, autocommit=True, application_name="lab-monitor")
        if not db.external:
            self.conn.execute("SET log_statement = 'none'")
        self.statements = db.external is not None and _has_statements(self.conn)
        self.statements_at_start = self._statements() if self.statements else 0.0

    def read(self) -> dict[str, float]:
        activity = self.conn.execute(ACTIVITY).fetchone()
        counters = self.conn.execute(COUNTERS).fetchone()
        assert activity is not None and counters is not None
        values = {
            "db_connections": activity[0],
            "db_active": activity[1],
            "db_idle": activity[2],
            "db_idle_in_transaction": activity[3],
            "db_idle_in_transaction_stale": activity[4],
            "db_long_transactions": activity[5],
            "db_sessions": counters[0] or 0,
        }
        if self.statements:
            values["db_statements"] = self._statements() - self.statements_at_start
        return {**{k: float(v) for k, v in values.items()}, **self.db.log_counts()}

    def _statements(self) -> float:
        row = self.conn.execute(STATEMENTS).fetchone()
        return float(row[0] or 0) if row else 0.0

    def close(self) -> None:
        self.conn.close()
