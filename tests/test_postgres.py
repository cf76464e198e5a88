"""The embedded PostgreSQL, for real: starts, counts what it sees, stops leaving nothing."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from lab.drive.processes import RUN_TAG, tagged
from lab.drive.services.postgres import STALE_IDLE_S, Monitor, Postgres
from lab.drive.services.seed import seed
from lab.errors import LabError
from lab.scenario.models import SeedSize
from tests.conftest import lab, write_scenario

pytestmark = pytest.mark.e2e


def postgres(tmp_path: Path, run_id: str, max_connections: int = 20) -> Postgres:
    env = {**os.environ, RUN_TAG: run_id}
    return Postgres(max_connections=max_connections, run_id=run_id, env=env, cores=[0], log=tmp_path / "pg.log")


def test_embedded_server_counts_connections_and_leaves_nothing(tmp_path: Path) -> None:
    run_id = f"PGTEST{os.getpid()}"
    with postgres(tmp_path, run_id) as db:
        assert db.mode == "embedded" and int(db.version.split(".")[0]) >= 14
        assert seed(db.app_url, SeedSize(users=30, orders_per_user=2, items_per_order=2)) == {
            "users": 30,
            "orders": 60,
            "items": 120,
        }
        monitor = Monitor(db)
        before = monitor.read()
        conns = [psycopg.connect(db.app_url) for _ in range(4)]
        conns[0].execute("SELECT 1")  # a transaction left open: idle in transaction
        conns[1].execute("SELECT count(*) FROM orders")
        conns[1].commit()
        seen = monitor.read()
        assert seen["db_connections"] == before["db_connections"] + 4
        assert seen["db_idle_in_transaction"] == 1
        assert seen["db_idle_in_transaction_stale"] == 0  # open for less than STALE_IDLE_S
        time.sleep(STALE_IDLE_S + 0.2)
        assert monitor.read()["db_idle_in_transaction_stale"] == 1
        for conn in conns:
            conn.close()
        deadline = time.monotonic() + 5
        # Both settle after the close: the backends exit, and the sessions counter is flushed
        # (pg_stat_database is updated periodically, not at once).
        while (after := monitor.read())["db_sessions"] < before["db_sessions"] + 4 or (
            after["db_connections"] != before["db_connections"]
        ):
            assert time.monotonic() < deadline, after
            time.sleep(0.1)
        assert after["db_connections"] == before["db_connections"]
        assert after["db_statements"] >= before["db_statements"] + 2  # SELECT 1, SELECT count(*), COMMIT
        monitor.close()
        pid = db.pid
        assert pid is not None and psutil.pid_exists(pid)
    assert tagged(run_id) == []
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_refused_connections_are_counted(tmp_path: Path) -> None:
    with postgres(tmp_path, f"PGFULL{os.getpid()}", max_connections=10) as db:
        monitor = Monitor(db)
        held, refused = [], 0
        # 10 slots: 3 reserved for superusers, 1 taken by the monitor (which connected first): 6 for the app.
        for _ in range(12):
            try:
                held.append(psycopg.connect(db.app_url))
            except psycopg.OperationalError:
                refused += 1
        assert len(held) == 6 and refused == 6
        time.sleep(0.2)
        assert monitor.read()["db_too_many_clients"] == refused
        for conn in held:
            conn.close()
        monitor.close()


def test_unreachable_database_url_is_one_clear_line(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # bound, never listening: connections are refused
        env = {**os.environ, "DATABASE_URL": f"postgresql://lab:lab@127.0.0.1:{closed_port}/lab"}
        with pytest.raises(LabError, match=rf"database unreachable at 127.0.0.1:{closed_port} \(DATABASE_URL\)"):
            os.environ["DATABASE_URL"] = env["DATABASE_URL"]
            try:
                postgres(tmp_path, "UNREACHABLE").__enter__()
            finally:
                del os.environ["DATABASE_URL"]
        path = write_scenario(tmp_path, extra="[database]\nmax_connections = 20\n")
        proc = lab("run", str(path), "--profile", "quick", "--results", str(dirs[0]), env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert f"database unreachable at 127.0.0.1:{closed_port}" in line


def test_external_database_url_gets_its_own_database_and_drops_it(tmp_path: Path) -> None:
    # A server of the user's, played by a second embedded one: the run must create and drop its database.
    (tmp_path / "outer").mkdir()
    with postgres(tmp_path / "outer", f"OUTER{os.getpid()}") as outer:
        os.environ["DATABASE_URL"] = outer.server_url
        try:
            with postgres(tmp_path, "EXTERNAL1") as db:
                assert db.mode == "external" and db.pid is None
                with psycopg.connect(db.app_url) as conn:
                    assert conn.execute("SELECT current_database()").fetchone() == ("lab_external1",)
        finally:
            del os.environ["DATABASE_URL"]
        with psycopg.connect(outer.server_url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'lab_external1'").fetchone() == (0,)
