"""The upstream service, for real: its fault modes do what they say, its counters count."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lab.drive.processes import RUN_TAG, tagged
from lab.drive.services.upstream import UpstreamService
from lab.paths import ROOT
from lab.record import store
from tests.conftest import start_lab

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream(tmp_path: Path):  # type: ignore[no-untyped-def]
    run_id = f"UPTEST{os.getpid()}"
    with UpstreamService(
        mode={"latency_ms": 0}, env={**os.environ, RUN_TAG: run_id}, cores=[1], log=tmp_path / "u.log"
    ) as up:
        yield up
    assert tagged(run_id) == []


def get(up: UpstreamService, conn: http.client.HTTPConnection | None = None, timeout: float = 2.0) -> tuple[int, float]:
    conn = conn or http.client.HTTPConnection(up.host, up.port, timeout=timeout)
    start = time.perf_counter()
    conn.request("GET", "/items/1")
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - start


def test_counts_requests_and_connections(upstream: UpstreamService) -> None:
    before = upstream.read()
    keep_alive = http.client.HTTPConnection(upstream.host, upstream.port, timeout=2)
    for _ in range(5):
        assert get(upstream, keep_alive)[0] == 200
    assert upstream.read()["upstream_connections_open"] == before["upstream_connections_open"] + 1
    keep_alive.close()
    for _ in range(3):
        assert get(upstream)[0] == 200  # a new connection each
    after = upstream.read()
    assert after["upstream_requests"] - before["upstream_requests"] == 8
    assert after["upstream_connections_opened"] - before["upstream_connections_opened"] == 4


def test_latency_follows_the_configured_median(upstream: UpstreamService) -> None:
    upstream.control("POST", "/config", {"latency_ms": 50})
    times = sorted(get(upstream)[1] for _ in range(15))
    assert 0.045 <= times[len(times) // 2] <= 0.2


def test_error_rate_is_honoured(upstream: UpstreamService) -> None:
    upstream.control("POST", "/config", {"error_rate": 0.5})
    statuses = [get(upstream)[0] for _ in range(200)]
    errors = statuses.count(503)
    assert errors + statuses.count(200) == 200
    assert 60 <= errors <= 140  # binomial(200, 0.5): +-5 standard deviations


def test_scheduled_hang_holds_requests_until_it_ends(upstream: UpstreamService) -> None:
    upstream.arm(time.time(), [{"from_s": 0, "until_s": 1.0, "hang": True}])
    with pytest.raises(TimeoutError):
        get(upstream, timeout=0.3)  # a client with a timeout gives up
    status, took = get(upstream, timeout=5)  # one without waits out the rest of the hang
    assert status == 200 and 0.2 <= took <= 1.5
    assert get(upstream, timeout=0.3)[0] == 200  # and after it, answers come at once again


def test_refusing_means_no_listener(upstream: UpstreamService) -> None:
    upstream.arm(time.time(), [{"from_s": 0, "until_s": 0.6, "refuse": True}])
    time.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        get(upstream)
    time.sleep(0.7)
    assert get(upstream)[0] == 200


def test_interrupting_a_run_during_a_hang_leaves_nothing(tmp_path: Path) -> None:
    scenario = tmp_path / "hang.toml"
    # One variant (bad: httpx's default), the hang from 1 s on, the claims left out.
    text = (ROOT / "scenarios" / "missing-timeouts.toml").read_text().split("# The fault falls")[0]
    text = re.sub(r"(?m)^(reference|bad_requests|fix_\w+) = .*\n", "", text)
    scenario.write_text(re.sub(r"from_s = \d+\nuntil_s = \d+", "from_s = 1\nuntil_s = 60", text))
    results = tmp_path / "results"
    proc = start_lab(
        "run", str(scenario), "--profile", "quick", "--results", str(results),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 40
    while True:  # wait until the hang has started and requests are held
        assert time.monotonic() < deadline and proc.poll() is None, "the run never reached the hang"
        progress = list(results.glob("*/*/cells/*/progress.json"))
        if progress and json.loads(progress[0].read_text())["elapsed_s"] >= 2:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    [run_json] = list(results.glob("*/*/run.json"))
    rec = store.load(run_json.parent)
    assert rec.status == "incomplete"
    assert tagged(rec.run_id) == []


def test_keeps_the_idempotency_keys_of_the_writes_it_took_and_forgets_them_for_a_new_cell(
    upstream: UpstreamService,
) -> None:
    conn = http.client.HTTPConnection(upstream.host, upstream.port, timeout=2)
    for key in ("order-1", "order-2", "order-1", ""):
        conn.request("POST", "/audit", body=b"{}", headers={"Idempotency-Key": key} if key else {})
        assert conn.getresponse().read()
    upstream.control("POST", "/config", {"error_rate": 1.0})  # refused writes are not taken
    conn.request("POST", "/audit", body=b"{}", headers={"Idempotency-Key": "order-3"})
    assert conn.getresponse().status == 503
    conn.close()
    assert upstream.taken_keys() == []  # a new mode is a new cell
    upstream.reset()
    conn = http.client.HTTPConnection(upstream.host, upstream.port, timeout=2)
    conn.request("POST", "/audit", body=b"{}", headers={"idempotency-key": "order-4"})
    conn.getresponse().read()
    assert upstream.taken_keys() == ["order-4"]


def test_a_write_whose_client_is_gone_before_the_answer_is_aborted_not_taken(upstream: UpstreamService) -> None:
    upstream.control("POST", "/config", {"latency_ms": 300})
    gone = http.client.HTTPConnection(upstream.host, upstream.port, timeout=2)
    gone.request("POST", "/audit", body=b"{}", headers={"Idempotency-Key": "order-killed"})
    gone.close()  # as a killed process's socket is: closed before the answer
    kept = http.client.HTTPConnection(upstream.host, upstream.port, timeout=2)
    kept.request("POST", "/audit", body=b"{}", headers={"Idempotency-Key": "order-kept"})
    assert kept.getresponse().status == 200
    kept.close()
    assert upstream.taken_keys() == ["order-kept"]
    assert upstream.control("GET", "/stats")["writes_aborted"] == 1
