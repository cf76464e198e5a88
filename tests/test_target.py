"""`lab run --target`: a server the lab did not start, loaded for real; refusals in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.drive.checks import get
from lab.drive.processes import core_layout, free_port
from lab.drive.servers import Server
from lab.drive.target import parse
from lab.errors import LabError
from lab.paths import ROOT
from lab.record import store
from lab.record.raw import read_requests
from lab.scenario import loading
from lab.scenario.models import ServerSettings
from tests.conftest import lab


@pytest.mark.parametrize(
    ("url", "variant", "allow", "message"),
    [
        ("http://10.1.2.3:8000", "bad", False, "10.1.2.3 is not a loopback address; load goes only to this machine"),
        ("https://127.0.0.1:8000", "bad", False, "expected http://HOST:PORT"),
        ("http://127.0.0.1:8000/api", "bad", False, "expected http://HOST:PORT"),
        ("http://127.0.0.1:8000", None, False, "pass --variant, one of bad, fix_await, fix_threadpool"),
        ("http://127.0.0.1:8000", "ghost", False, "--variant 'ghost': no such variant"),
    ],
)
def test_a_target_is_refused_in_one_line_unless_it_is_loopback_and_names_its_variant(
    url: str, variant: str | None, allow: bool, message: str
) -> None:
    with pytest.raises(LabError) as err:
        parse(url, variant, loading.load("loop-blocking"), allow)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_remote_target_needs_the_explicit_opt_in_and_localhost_is_loopback() -> None:
    loaded = loading.load("loop-blocking")
    assert parse("http://10.1.2.3:8000", "bad", loaded, allow_remote=True).remote
    local = parse("http://localhost:8001", "bad", loaded, allow_remote=False)
    assert not local.remote and local.port == 8001


def test_the_cli_refuses_a_remote_target_before_anything_starts(dirs: tuple[Path, Path]) -> None:
    results, _ = dirs
    proc = lab(
        "run", "loop-blocking", "--target", "http://10.1.2.3:8000", "--variant", "bad", "--results", str(results)
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "--allow-remote" in proc.stderr
    assert not results.exists()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_server_started_elsewhere_is_loaded_by_two_generators_and_left_running_with_its_samples_absent(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    results, reports = dirs
    port = free_port("127.0.0.1")
    server = Server(
        "apps.loop_blocking.fix_await:app",
        ServerSettings(env={"BLOCK_MS": "20"}),
        port,
        cores=sorted(os.sched_getaffinity(0)),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        log=tmp_path / "server.log",
        cwd=ROOT,
        what="the test's own server",
    )
    with server:
        url = f"http://127.0.0.1:{port}"
        # Two Locust processes (a master and two workers), as against a deployment's server.
        proc = lab(
            "run", "loop-blocking", "--profile", "quick", "--target", url, "--variant", "fix_await",
            "--generators", "2", "--results", str(results), "--reports", str(reports), "--quiet",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert get("127.0.0.1", port, "/health")[0] == 200  # the lab stops only what it started
    [run_json] = list(results.glob("loop-blocking/*/run.json"))
    rec = store.load(run_json.parent)
    assert rec.status == "complete" and rec.target == url
    assert {c.variant for c in rec.cells} == {"fix_await"} and all(c.server_exit is None for c in rec.cells)
    fix = rec.variants["fix_await"]
    assert fix.requests > 0 and (fix.value("capacity") or 0) > 0
    # Nothing of the server's own was sampled: absent, never zero; claims that need it say so.
    assert fix.value("server_cpu_pct") is None and fix.value("server_rss_mb") is None
    assert rec.claims and all(c.verdict == "inconclusive" for c in rec.claims)  # no `bad` ran here
    # Both generator processes ran and were merged; sharing one generator core is flagged.
    shared = len(core_layout().generator) < 2
    for cell in rec.cells:
        assert cell.affinity is not None and cell.affinity.generator_processes == 2 and cell.load.generators == 2
        for point in cell.points:
            assert ("generators_share_cores" in point.flags) == shared and point.requests > 0
    folder = next(p for p in run_json.parent.rglob("rate-*") if (p / "gen-1").is_dir())
    merged = read_requests(folder / "requests.csv")
    assert len(merged) == sum(len(read_requests(p / "requests.csv")) for p in folder.glob("gen-*"))
