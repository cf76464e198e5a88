"""Bad input and failures: one clear line, a non-zero exit, and nothing left running."""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from lab.drive.processes import tagged
from lab.record import store
from lab.record.models import RunRecord
from tests.conftest import lab, start_lab, write_scenario

pytestmark = pytest.mark.e2e


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def only_record(results: Path) -> RunRecord:
    [run_json] = list(results.glob("*/*/run.json"))
    rec = store.load(run_json.parent)
    assert tagged(rec.run_id) == []
    return rec


def test_unknown_scenario(dirs: tuple[Path, Path]) -> None:
    line = one_error_line(lab("run", "no-such-pitfall", "--results", str(dirs[0])))
    assert "unknown scenario 'no-such-pitfall'; known: " in line and "loop-blocking" in line
    assert not dirs[0].exists()


def test_scenario_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = write_scenario(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'pitfall = "a test scenario"', 'pitfall = "\u00e9"'.encode("latin-1")))
    line = one_error_line(lab("run", str(path)))
    assert line.startswith(f"error: {path}: not UTF-8 text (byte 0xe9 at offset ")


def test_malformed_scenario_file(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, extra="[server.extra]\n")
    path.write_text(path.read_text().replace("startup_timeout_s = 15", 'startup_timeout_s = "soon"'))
    line = one_error_line(lab("run", str(path)))
    assert str(path) in line and "server.startup_timeout_s" in line


def test_app_that_fails_to_import(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    path = write_scenario(tmp_path, variants='broken = "tests.apps.crash_on_import:app"')
    line = one_error_line(lab("run", str(path), "--profile", "quick", "--results", str(dirs[0])))
    assert "variant 'broken' (tests.apps.crash_on_import:app) exited during start (code 1)" in line
    assert "boom: this app fails at import" in line
    rec = only_record(dirs[0])
    assert rec.status == "failed" and rec.cells[0].status == "failed"


def test_server_that_never_becomes_healthy(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    path = write_scenario(tmp_path, variants='sick = "tests.apps.never_healthy:app"', startup_timeout_s=2)
    line = one_error_line(lab("run", str(path), "--profile", "quick", "--results", str(dirs[0])))
    assert "did not become healthy within 2s (/health answered 503)" in line
    assert only_record(dirs[0]).status == "failed"


def test_variant_that_answers_wrongly_stops_the_run_before_any_load(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    variants = 'good = "apps.loop_blocking.fix_await:app"\nwrong = "tests.apps.wrong_answer:app"'
    path = write_scenario(tmp_path, variants=variants)
    line = one_error_line(lab("run", str(path), "--profile", "quick", "--results", str(dirs[0]), "--no-report"))
    assert "variant 'wrong'" in line and "GET /work answered {'ok': False, 'waited_ms': 0}" in line
    rec = only_record(dirs[0])
    assert rec.status == "failed"
    assert [(c.variant, c.status) for c in rec.cells] == [("wrong", "failed")]  # good was checked, never loaded
    assert not list(dirs[0].glob("*/*/cells/*/requests.csv"))


def test_keep_going_runs_the_other_variants_and_records_the_wrong_one_as_failed(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    variants = 'good = "apps.loop_blocking.fix_await:app"\nwrong = "tests.apps.wrong_answer:app"'
    path = write_scenario(tmp_path, variants=variants)
    args = ("run", str(path), "--profile", "quick", "--results", str(dirs[0]), "--no-report", "--keep-going")
    line = one_error_line(lab(*args))
    assert "variant 'wrong'" in line
    rec = only_record(dirs[0])
    assert rec.status == "failed"
    assert [c.status for c in rec.cells] == ["ok", "failed"]  # the good cell still ran
    assert "wrong" not in rec.variants


def test_port_taken(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        line = one_error_line(lab("run", str(write_scenario(tmp_path)), "--port", str(port), "--results", str(dirs[0])))
    assert f"port {port} on 127.0.0.1 is taken" in line


def test_a_server_that_does_not_stop_in_its_grace_period_is_killed_and_recorded(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    path = write_scenario(tmp_path, variants='draining = "tests.apps.slow_shutdown:app"', extra="")
    path.write_text(path.read_text().replace("[server]\n", "[server]\nstop_grace_s = 1\n"))
    proc = lab("run", str(path), "--profile", "quick", "--results", str(dirs[0]), "--no-report", "--quiet")
    assert proc.returncode == 0, proc.stderr
    rec = only_record(dirs[0])
    [cell] = rec.cells
    assert cell.server_exit is not None and cell.server_exit.killed and cell.server_exit.grace_s == 1
    assert cell.server_exit.code == -9
    assert "was killed: draining" in proc.stdout


def test_locust_that_crashes(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    path = write_scenario(tmp_path, locustfile="tests/locust_crash.py")
    line = one_error_line(lab("run", str(path), "--profile", "quick", "--results", str(dirs[0])))
    assert "Locust exited with code 1" in line and "this locustfile is broken" in line
    assert only_record(dirs[0]).status == "failed"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_is_incomplete_and_leaves_nothing(tmp_path: Path, dirs: tuple[Path, Path], sig: int) -> None:
    path = write_scenario(tmp_path)
    path.write_text(path.read_text().replace("duration_s = 2", "duration_s = 60"))
    results = dirs[0]
    proc = start_lab(
        "run", str(path), "--profile", "quick", "--results", str(results),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not list(results.glob("*/*/cells/*/progress.json")):  # the load is running
        assert time.monotonic() < deadline and proc.poll() is None, "the run never reached its load"
        time.sleep(0.1)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "incomplete" in stderr and "Traceback" not in stderr
    rec = only_record(results)
    assert rec.status == "incomplete" and rec.finished_at is not None
    assert rec.claims == []


def test_a_harness_killed_outright_leaves_orphans_the_next_run_removes(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    """SIGKILL gives the harness no chance to clean up: the next run's janitor must, processes and
    the embedded database's data folder alike."""
    from lab.drive.processes import kill_orphans, remove_dead_scratch

    path = write_scenario(tmp_path, extra="[database]\nmax_connections = 20\nseed = { users = 10 }\n")
    path.write_text(path.read_text().replace("duration_s = 2", "duration_s = 60"))
    results = dirs[0]
    proc = start_lab(
        "run", str(path), "--profile", "quick", "--results", str(results),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not list(results.glob("*/*/cells/*/progress.json")):
        assert time.monotonic() < deadline and proc.poll() is None, "the run never reached its load"
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    [run_json] = list(results.glob("*/*/run.json"))
    rec = store.load(run_json.parent)
    assert rec.status == "incomplete"  # never reported as complete
    assert tagged(rec.run_id), "the server, Locust and PostgreSQL outlive a SIGKILLed harness"
    scratch = list(Path(tempfile.gettempdir()).glob(f"lab-pg-{proc.pid}-*"))
    assert scratch, "the embedded database's data folder is left in the temp directory"
    assert kill_orphans()
    assert scratch[0] in remove_dead_scratch()
    assert tagged(rec.run_id) == [] and not scratch[0].exists()
