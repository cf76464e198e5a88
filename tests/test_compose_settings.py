"""The compose stack's settings come from the scenario (no Docker needed: tests/test_compose.py
runs the stack itself)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.drive import compose
from lab.errors import LabError
from lab.scenario import loading
from tests.conftest import lab


def test_a_stack_serves_one_variant_as_the_lab_would_with_the_scenarios_database_limits(tmp_path: Path) -> None:
    loaded = loading.load("pool-exhaustion")
    values, app_env = compose.settings(loaded, "fix_budget")
    assert values["APP"] == "apps.pool_exhaustion.fix_budget:app" and values["SERVER"] == "gunicorn"
    assert values["WORKERS"] == "2"  # the scenario's first matrix point
    assert values["PG_MAX_CONNECTIONS"] == "30" and app_env["DB_MAX_CONNECTIONS"] == "30"
    assert app_env["QUERY_MS"] == "100" and app_env["WEB_CONCURRENCY"] == "2"
    assert values["DB_HOST"] == "postgres" and values["LAB_BIND"] == "0.0.0.0"
    assert not set(values["LAB_SERVER_CPUS"].split(",")) & set(values["LAB_GENERATOR_CPUS"].split(","))
    host, _ = compose.settings(loaded, "bad", network="host")
    assert host["DB_HOST"] == host["APP_HOST"] == "127.0.0.1" and host["LAB_BIND"] == "127.0.0.1"
    shed, _ = compose.settings(loading.load("load-shedding"), "fix_limit_concurrency")
    assert "--limit-concurrency 30" in shed["SERVER_FLAGS"]  # a fix that is a server flag travels too
    stack = compose.write(loaded, "bad", free_ports=True, folder=tmp_path)
    written = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines())
    assert written["APP_PORT"] == str(stack.settings["APP_PORT"]) != "8000"
    assert Path(written["APP_ENV_FILE"]).read_text().count("QUERY_MS=100") == 1


def test_an_unknown_variant_and_a_serve_without_an_app_fail_in_one_line() -> None:
    with pytest.raises(LabError, match="no such variant in pool-exhaustion; one of bad, fix_budget"):
        compose.settings(loading.load("pool-exhaustion"), "ghost")
    env = {k: v for k, v in os.environ.items() if k not in ("APP", "PORT")}
    proc = lab("serve", env=env)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "set APP, PORT" in proc.stderr
    proc = lab("serve", env={**env, "APP": "apps.loop_blocking.bad:app", "PORT": "8000", "SERVER": "nginx"})
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "lab serve: kind:" in proc.stderr
