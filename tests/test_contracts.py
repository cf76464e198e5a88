"""Same contract, variants differ in one thing: every variant of every pitfall, called in-process
(no server), answers every route of its scenario's checks with the same status and the same whole
body as the pitfall's other variants. Pitfalls with a database or an upstream get the real ones."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lab.drive.processes import RUN_TAG
from lab.drive.services.postgres import Postgres
from lab.drive.services.seed import seed
from lab.drive.services.upstream import UpstreamService
from lab.paths import ROOT
from lab.scenario import loading
from lab.scenario.models import Scenario, SeedSize

# Variants that change the contract on purpose; each must still differ, or the entry is stale.
# In-process calls, but against the real PostgreSQL and upstream this module starts.
pytestmark = pytest.mark.e2e

CHANGED_CONTRACT = {
    ("response-model-large-list", "fix_paginated"): "answers one page of 100 rows instead of all 5000",
}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {**os.environ, RUN_TAG: "contracts"}
    log = tmp_path_factory.mktemp("pg") / "postgres.log"
    with Postgres(
        max_connections=100, run_id="contracts", env=env, cores=sorted(os.sched_getaffinity(0)), log=log
    ) as db:
        seed(db.app_url, SeedSize())
        yield {"DATABASE_URL": db.app_url, "DB_MAX_CONNECTIONS": "100"}


@pytest.fixture(scope="module")
def upstream_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpstreamService]:
    env = {**os.environ, RUN_TAG: "contracts"}
    log = tmp_path_factory.mktemp("up") / "upstream.log"
    with UpstreamService(mode={"latency_ms": 1}, env=env, cores=sorted(os.sched_getaffinity(0)), log=log) as up:
        yield up


@pytest.fixture(scope="module")
def upstream(upstream_service: UpstreamService) -> dict[str, str]:
    return {"UPSTREAM_URL": upstream_service.url}


def _points(loaded: Scenario) -> list[dict[str, str]]:
    """The app environment at every `env.*` matrix point (apps read their settings at import)."""
    env_keys = {k: v for k, v in loaded.matrix.items() if k.startswith("env.")}
    combos = itertools.product(*env_keys.values()) if env_keys else [()]
    return [{**loaded.server.env, **{k[4:]: str(v) for k, v in zip(env_keys, combo, strict=True)}} for combo in combos]


def _fresh_app(ref: str) -> Any:
    """Import `module:attribute` anew, so module-level settings read this test's environment."""
    for name in [m for m in sys.modules if m == "apps" or m.startswith("apps.")]:
        del sys.modules[name]
    module, attribute = ref.split(":")
    return getattr(import_module(module), attribute)


def _answers(ref: str, loaded: Scenario) -> dict[str, tuple[int, Any]]:
    with TestClient(_fresh_app(ref)) as client:
        out = {}
        for check in loaded.verify:
            response = client.get(check.path)
            out[check.path] = (response.status_code, response.json())
        return out


@pytest.mark.parametrize("name", loading.known())
def test_every_variant_answers_the_same_whole_bodies(
    name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = loading.load(name)
    services: dict[str, str] = {}
    if loaded.database is not None:
        services |= request.getfixturevalue("database")
    if loaded.upstream is not None:
        services |= request.getfixturevalue("upstream")
    for point in _points(loaded):
        for key, value in {**services, **point, "WEB_CONCURRENCY": "1", "PGAPPNAME": "lab-contracts"}.items():
            monkeypatch.setenv(key, value)
        answers = {variant: _answers(ref, loaded) for variant, ref in loaded.variants.items()}
        # Each answer is right (status, and the checked body or first element)...
        for variant, by_path in answers.items():
            for check in loaded.verify:
                status, body = by_path[check.path]
                assert status == check.status, (variant, check.path)
                if check.body is not None:
                    assert body == check.body, (variant, check.path)
                if check.first is not None:
                    assert body[0] == check.first, (variant, check.path)
        # ...and every variant answers what the first one does, whole body by whole body.
        reference, first = next(iter(answers.items()))
        for variant, by_path in answers.items():
            if (name, variant) in CHANGED_CONTRACT:
                assert by_path != first, f"{variant} no longer {CHANGED_CONTRACT[name, variant]}: drop it from the list"
                continue
            assert by_path == first, f"{name} at {point}: {variant} answers differently from {reference}"


def test_every_pitfall_folder_has_a_scenario_and_readme() -> None:
    folders = {p.parent.name for p in (ROOT / "apps").glob("*/bad*.py")}
    used = {ref.split(".")[1] for name in loading.known() for ref in loading.load(name).variants.values()}
    assert folders <= used, f"pitfall folders no scenario runs: {sorted(folders - used)}"
    assert all((ROOT / "apps" / folder / "README.md").is_file() for folder in folders)


def test_every_streaming_variant_streams_the_same_export(
    database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # NDJSON, not JSON, so the verify list cannot hold it: the whole stream, variant by variant.
    for key, value in {**database, "PACE_S": "0", "PGAPPNAME": "lab-contracts"}.items():
        monkeypatch.setenv(key, value)
    streams = {}
    for variant, ref in loading.load("streaming-session").variants.items():
        with TestClient(_fresh_app(ref)) as client:
            response = client.get("/export")
            assert response.status_code == 200, variant
            streams[variant] = response.text
    first = next(iter(streams.values()))
    assert first.count("\n") == 1000 and first.startswith('{"id":1,"user_id":1,"total_cents":12648}\n')
    assert all(text == first for text in streams.values()), "a variant streams a different export"


def test_the_outbox_delivers_a_committed_audit_after_the_process_that_took_it_is_gone(
    database: dict[str, str], upstream_service: UpstreamService, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**database, "UPSTREAM_URL": upstream_service.url, "PGAPPNAME": "lab-contracts"}.items():
        monkeypatch.setenv(key, value)
    ref = "apps.inline_side_work.fix_outbox:app"
    app = _fresh_app(ref)

    async def dead(pool: Any, client: Any, stopping: asyncio.Event) -> None:  # killed before it delivered
        await stopping.wait()

    monkeypatch.setattr(sys.modules["apps.inline_side_work.fix_outbox"], "deliver", dead)
    with TestClient(app) as client:
        assert client.get("/checkout/424242").json() == {"order_id": 424242, "status": "confirmed"}
    assert "checkout-424242" not in upstream_service.taken_keys()
    with TestClient(_fresh_app(ref)):  # a new process: its worker finds the committed row
        deadline = time.monotonic() + 10
        while "checkout-424242" not in upstream_service.taken_keys() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert upstream_service.taken_keys().count("checkout-424242") == 1
