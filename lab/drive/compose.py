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
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

from pydantic import ValidationError

from lab.drive import proxy, servers
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
    "PROXY_PORT": 8080,
}
# Inside the proxy's container: where nginx.conf is mounted, and where nginx keeps its files.
PROXY_CONF_IN_CONTAINER = "/etc/lab/nginx.conf"
PROXY_FOLDER_IN_CONTAINER = Path("/tmp")


@dataclass(frozen=True)
class Stack:
    """What `make up` starts: the settings file for docker-compose and where things will listen."""

    env_file: Path
    settings: dict[str, str]

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.settings['APP_PORT']}"

    @property
    def proxy_url(self) -> str | None:
        """nginx in front of the app, where the variant has one (`[proxy]`, `[variant_proxy]`)."""
        return f"http://127.0.0.1:{self.settings['PROXY_PORT']}" if self.settings.get("PROXY_CONF") else None

    @property
    def services(self) -> list[str]:
        """The stack's long-running services: the proxy too where the variant has one."""
        return [*STACK, *(["proxy"] if self.proxy_url else [])]

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
        "ACCESS_LOG": "1" if server.access_log else "0",
        "RUNTIME_THREADS": str(server.runtime_threads),
        "SERVER_FLAGS": " ".join(server.flags),
        "PG_MAX_CONNECTIONS": str(scenario.database.max_connections if scenario.database else 100),
        "UPSTREAM_MODE": json.dumps(scenario.upstream.model_dump(exclude={"faults"}) if scenario.upstream else {}),
        "LOCUSTFILE": scenario.locustfile,
        "APP_HEALTH": server.health,
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
    proxied = scenario.proxied(variant)
    if proxied is not None:
        # The lab's own nginx.conf, for the proxy's container: its listen address and the app's
        # are the network's (service names on a bridge, loopback on the host's), its log stderr.
        conf = folder / f"{scenario.name}.nginx.conf"
        conf.write_text(
            proxy.config(
                proxied,
                int(values["PROXY_PORT"]),
                int(values["APP_PORT"]),
                PROXY_FOLDER_IN_CONTAINER,
                host=values["LAB_BIND"],
                upstream_host=values["APP_HOST"],
                error_log="stderr",
            )
        )
        values["PROXY_CONF"] = str(conf)
    images = ROOT / ".env"
    chosen = _read_env(images) if images.is_file() else {}
    env_file = folder / f"{scenario.name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {**chosen, **values}.items()))
    return Stack(env_file, {**chosen, **values})


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def serve() -> NoReturn:
    """The app container's command: APP served as SERVER (uvicorn, gunicorn, granian, hypercorn) with
    WORKERS, LOOP, HTTP, ACCESS_LOG, RUNTIME_THREADS and SERVER_FLAGS."""
    env = os.environ
    missing = [name for name in ("APP", "PORT") if not env.get(name)]
    if missing:
        raise LabError(f"lab serve: set {', '.join(missing)} (e.g. APP=apps.loop_blocking.fix_await:app PORT=8000)")
    try:
        server = ServerSettings(
            kind=env.get("SERVER", "uvicorn"),
            workers=int(env.get("WORKERS", "1")),
            loop=env.get("LOOP", "uvloop"),
            flags=env.get("SERVER_FLAGS", "").split(),
            access_log=env.get("ACCESS_LOG", "0") == "1",
            runtime_threads=int(env.get("RUNTIME_THREADS", "1")),
            # Left out when empty: the kind's own parser (h11 for hypercorn, hyper for granian).
            **({"http": env["HTTP"]} if env.get("HTTP") else {}),
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


# -- which compose, and a stack up until healthy ---------------------------------------------------
Runner = Callable[..., "subprocess.CompletedProcess[str]"]
WAIT_S = 180  # images built, PostgreSQL's first start, the app's import: a minute here; beyond, stuck


def tool(run: Runner = subprocess.run, which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """`docker compose` (v2, Docker's plugin) where the Docker CLI has it, else `docker-compose`
    (1.x, or a standalone v2); a one-line error naming both when there is neither."""
    if which("docker"):
        found = run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if found.returncode == 0:
            return ["docker", "compose"]
    if which("docker-compose"):
        return ["docker-compose"]
    raise LabError(
        "no Docker Compose here: install Docker's compose plugin (`docker compose`) or docker-compose; "
        "`make compose-tools` installs Debian's where no Docker is installed"
    )


def major(cmd: Sequence[str], run: Runner = subprocess.run) -> int:
    """Compose's major version: `docker-compose version 1.29.2, build ...`, `Docker Compose version v2.26.1`."""
    said = run([*cmd, "version"], capture_output=True, text=True, timeout=60).stdout
    found = re.search(r"version v?(\d+)\.", said)
    if found is None:
        raise LabError(f"{' '.join(cmd)} version printed {said.strip()[:80]!r}: not a version this lab knows")
    return int(found[1])


def up_args(version: int, services: Sequence[str], scale: dict[str, int] | None = None) -> list[str]:
    """`up -d` with v2's own wait for health; 1.x has no --wait, so `up` polls it (lab/drive/compose.py)."""
    args = ["up", "-d", *(arg for name, n in (scale or {}).items() for arg in ("--scale", f"{name}={n}"))]
    if version >= 2:
        args += ["--wait", "--wait-timeout", str(WAIT_S)]
    return [*args, *services]


STACK = ["postgres", "upstream", "app"]
LOAD = ["locust-master", "locust-worker"]


def base_args(
    env_file: Path, network: Network, project: str = PROJECT, load: bool = False, proxy: bool = False
) -> list[str]:
    """The files, project, settings and profiles every compose command of a stack takes. On the
    host's network the host file replaces the override's published ports."""
    files = ["-f", "docker-compose.yml", "-f", "docker-compose.host.yml"] if network == "host" else []
    profiles = [*(["--profile", "load"] if load else []), *(["--profile", "proxy"] if proxy else [])]
    return [*files, "-p", project, "--env-file", str(env_file), *profiles]


def _states(cmd: Sequence[str], base: list[str], env: dict[str, str], run: Runner, cwd: Path) -> dict[str, str]:
    """Each container of the project: `healthy`, `unhealthy`, `starting`, or its state without a healthcheck."""
    ids = run([*cmd, *base, "ps", "-q"], capture_output=True, text=True, env=env, cwd=cwd, timeout=60).stdout.split()
    if not ids:
        return {}
    form = "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"
    said = run(["docker", "inspect", "--format", form, *ids], capture_output=True, text=True, env=env, timeout=60)
    return dict(line.lstrip("/").split(" ", 1) for line in said.stdout.splitlines() if " " in line)


def up(
    cmd: Sequence[str],
    base: list[str],
    services: Sequence[str],
    env: dict[str, str],
    scale: dict[str, int] | None = None,
    run: Runner = subprocess.run,
    cwd: Path = ROOT,
) -> None:
    """Start the services and return once every container is healthy (or running, without a
    healthcheck); a container that exits or turns unhealthy is named in a one-line error."""
    version = major(cmd, run)
    started = run([*cmd, *base, *up_args(version, services, scale)], capture_output=True, text=True, env=env,
                  cwd=cwd, timeout=WAIT_S + 600)  # fmt: skip
    if started.returncode != 0:
        said = (started.stderr.strip() or started.stdout.strip() or "no output").splitlines()[-1]
        raise LabError(f"{' '.join(cmd)} up failed: {said}")
    if version >= 2:
        return
    deadline = time.monotonic() + WAIT_S
    while True:
        states = _states(cmd, base, env, run, cwd)
        broken = {name: state for name, state in states.items() if state in ("unhealthy", "exited", "dead")}
        if broken:
            name, state = next(iter(broken.items()))
            raise LabError(f"compose: {name} is {state}; see `docker logs {name}`")
        if states and all(state in ("healthy", "running") for state in states.values()):
            return
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{n} {s}" for n, s in states.items() if s not in ("healthy", "running"))
            raise LabError(f"compose: not healthy after {WAIT_S} s: {waiting or 'no containers'}")
        time.sleep(1.0)


def ps(cmd: Sequence[str], base: list[str], run: Runner = subprocess.run, cwd: Path = ROOT) -> str:
    return str(run([*cmd, *base, "ps"], capture_output=True, text=True, cwd=cwd, timeout=60).stdout)
