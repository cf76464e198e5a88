"""The compose stack (docker-compose.yml) from a scenario, and the app container's entry point.

`lab compose-env SCENARIO --variant NAME` writes the settings docker-compose.yml reads: the app and
how it is served (APP, SERVER, WORKERS, LOOP, HTTP, SERVER_FLAGS: what the lab itself would run),
PostgreSQL's max_connections, the upstream's mode, the locustfile, cpusets that keep the server
off the generator's cores (lab/drive/processes.py: core_layout), ports on 127.0.0.1, and the app's own
environment (the scenario's `[server.env]`) in a file of its own. `lab serve` is the app
container's command: the same server command line the lab runs on the host (lab/drive/servers.py).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

from pydantic import ValidationError

from lab.drive import servers
from lab.drive.processes import core_layout, free_port
from lab.errors import LabError
from lab.paths import RESULTS, ROOT
from lab.scenario import plan
from lab.scenario.models import Scenario, ServerSettings, apply_setting

Network = Literal["bridge", "host"]
PROJECT = "fastapi-lab"
DEFAULT_PORTS = {
    "APP_PORT": 8000,
    "PG_PORT": 5432,
    "UPSTREAM_PORT": 8081,
    "UPSTREAM_CONTROL_PORT": 8082,
    "LOCUST_WEB_PORT": 8089,
    "LOCUST_MASTER_PORT": 5557,
}


@dataclass(frozen=True)
class Stack:
    """What `make up` starts: the settings file for docker-compose and where things will listen."""

    env_file: Path
    settings: dict[str, str]

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['APP_PORT']}"

    @property
    def upstream_control_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['UPSTREAM_CONTROL_PORT']}"

    @property
    def database_url(self) -> str:
        return f"postgresql://lab:lab@127.0.0.1:{self.settings['PG_PORT']}/lab"


def _cpus(cores: list[int]) -> str:
    return ",".join(map(str, cores))


def settings(
    scenario: Scenario, variant: str, network: Network = "bridge", ports: dict[str, int] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """The compose settings, and the app's own environment, for one variant of a scenario."""
    if variant not in scenario.variants:
        raise LabError(
            f"--variant {variant!r}: no such variant in {scenario.name}; one of {', '.join(scenario.variants)}"
        )
    # The scenario's first matrix point (pool-exhaustion: 2 workers): a stack serves one setting.
    first = plan.settings(scenario.matrix)[0] if scenario.matrix else {}
    server = scenario.served(variant, apply_setting(scenario.server, first))
    layout = core_layout(scenario.pinning.server, scenario.pinning.generator)
    # Inside the host's network a service binds loopback only; in its own network namespace it
    # must listen on every address for the published 127.0.0.1 port to reach it.
    local = network == "host"
    peer = (lambda _: "127.0.0.1") if local else (lambda name: name)
    out = {
        "COMPOSE_PROJECT_NAME": PROJECT,
        "LAB_NETWORK": network,
        "LAB_BIND": "127.0.0.1" if local else "0.0.0.0",
        "APP": scenario.variants[variant],
        "SERVER": server.kind,
        "WORKERS": str(server.workers),
        "LOOP": server.loop,
        "HTTP": server.http,
        "SERVER_FLAGS": " ".join(server.flags),
        "PG_MAX_CONNECTIONS": str(scenario.database.max_connections if scenario.database else 100),
        "UPSTREAM_MODE": json.dumps(scenario.upstream.model_dump(exclude={"faults"}) if scenario.upstream else {}),
        "LOCUSTFILE": scenario.locustfile,
        "LAB_SERVER_CPUS": _cpus(layout.server),
        "LAB_GENERATOR_CPUS": _cpus(layout.generator),
        "LAB_SERVICE_CPUS": _cpus(layout.generator),
        "DB_HOST": peer("postgres"),
        "UPSTREAM_HOST": peer("upstream"),
        "APP_HOST": peer("app"),
        "LOCUST_MASTER_HOST": peer("locust-master"),
        **{name: str(port) for name, port in (ports or DEFAULT_PORTS).items()},
    }
    app_env = {
        **server.env,
        "WEB_CONCURRENCY": str(server.workers),
        "PGAPPNAME": f"lab-{variant}",
        "DB_MAX_CONNECTIONS": out["PG_MAX_CONNECTIONS"],
    }
    return out, app_env


def write(
    scenario: Scenario, variant: str, network: Network = "bridge", free_ports: bool = False, folder: Path | None = None
) -> Stack:
    """results/compose/<scenario>.env (and its app environment), over the images `make images`
    chose in .env: docker-compose reads only one env file, so this one carries those too."""
    folder = folder or RESULTS / "compose"
    folder.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port("127.0.0.1") for name in DEFAULT_PORTS} if free_ports else None
    values, app_env = settings(scenario, variant, network, ports)
    app_file = folder / f"{scenario.name}.app.env"
    app_file.write_text("".join(f"{k}={v}\n" for k, v in app_env.items()))
    values["APP_ENV_FILE"] = str(app_file)
    images = ROOT / ".env"
    chosen = _read_env(images) if images.is_file() else {}
    env_file = folder / f"{scenario.name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {**chosen, **values}.items()))
    return Stack(env_file, {**chosen, **values})


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def serve() -> NoReturn:
    """The app container's command: APP served as SERVER with WORKERS, LOOP, HTTP and SERVER_FLAGS."""
    env = os.environ
    missing = [name for name in ("APP", "PORT") if not env.get(name)]
    if missing:
        raise LabError(f"lab serve: set {', '.join(missing)} (e.g. APP=apps.loop_blocking.fix_await:app PORT=8000)")
    try:
        server = ServerSettings(
            kind=env.get("SERVER", "uvicorn"),
            workers=int(env.get("WORKERS", "1")),
            loop=env.get("LOOP", "uvloop"),
            http=env.get("HTTP", "httptools"),
            flags=env.get("SERVER_FLAGS", "").split(),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise LabError(f"lab serve: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    except ValueError as exc:
        raise LabError(f"lab serve: {exc}") from None
    # In a container's own network namespace the app must listen on every address for its port to
    # be published (on the host's 127.0.0.1 only: docker-compose.override.yml); the settings'
    # loopback rule is about where the lab sends load, which this does not change.
    server = server.model_copy(update={"host": env.get("LAB_BIND", "0.0.0.0")})
    cmd = servers.command(env["APP"], server, int(env["PORT"]), sys.executable)
    os.environ["WEB_CONCURRENCY"] = str(server.workers)
    os.execv(cmd[0], cmd)
