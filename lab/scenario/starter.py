"""A starter scenario and locustfile for a service of your own, from its OpenAPI document (`lab init`).

Routes come from the app's own OpenAPI: every GET route with no required parameter and no body
becomes a load task and a `[[verify]]` check (it must answer 200 before any load). Every other
route is written out too, commented, with a TODO that says what to fill in, so nothing the service
serves is left out silently. The scenario starts as an open-model sweep to the SLO (capacity at
the SLO, with the capacity table), with no claims: a claim needs a number measured first.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass
from typing import Any

# Readiness routes, by the names services give them; else FastAPI's own /openapi.json.
HEALTH_NAMES = ("/health", "/healthz", "/health/", "/ready", "/readyz", "/livez", "/ping", "/status")
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    method: str  # lower case
    path: str  # as OpenAPI writes it, with {placeholders}
    name: str  # a Python identifier for its task
    required: tuple[str, ...]  # required parameters: path, query, header or cookie ones, by name
    body: bool  # a request body is required
    summary: str

    @property
    def loadable(self) -> bool:
        """A GET with nothing to fill in: a task and a check as written."""
        return self.method == "get" and not self.required and not self.body


def routes(openapi: dict[str, Any]) -> list[Route]:
    """Every operation of the document, in its order; names made unique."""
    out: list[Route] = []
    taken: set[str] = set()
    for path, item in (openapi.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = [*shared, *(p for p in op.get("parameters", []) if isinstance(p, dict))]
            required = tuple(str(p.get("name")) for p in params if p.get("required") or p.get("in") == "path")
            body = bool(op.get("requestBody", {}).get("required")) if isinstance(op.get("requestBody"), dict) else False
            name = _identifier(f"{method}_{path}", taken)
            taken.add(name)
            out.append(Route(method, path, name, required, body, str(op.get("summary") or "")))
    return out


def _identifier(text: str, taken: set[str]) -> str:
    base = re.sub(r"_+", "_", re.sub(r"[^0-9a-zA-Z]+", "_", text)).strip("_").lower() or "route"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = f"r_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def health_route(found: list[Route], openapi_url: str | None) -> str | None:
    """The readiness route the lab polls: the service's own health route, else /openapi.json, else
    its first loadable GET; None when it has none of these."""
    gets = {r.path for r in found if r.loadable}
    for name in HEALTH_NAMES:
        if name in gets:
            return name
    if openapi_url:
        return openapi_url
    return next((r.path for r in found if r.loadable), None)


def locustfile(service: str, app: str, found: list[Route], path: str) -> str:
    """A locustfile that runs under the lab and with plain `locust -f` alike."""
    loadable = [r for r in found if r.loadable]
    lines = [
        f'"""Load for {service} ({app}), written by `fastapi-lab init` from the app\'s OpenAPI.',
        "",
        "Each task is one request; under the lab's open model every arrival runs one task, chosen by",
        "weight (`@task(3)` is three times as likely as `@task`). Weigh the tasks as your traffic is",
        "weighed. A task marks an answer that is not 200 a failure, and the SLO counts failures.",
        "",
        f"    locust -f {path} -H http://127.0.0.1:8000    # the same tasks in Locust's web UI",
        '"""',
        "",
        "from typing import Any",
        "",
        "from locust import FastHttpUser, task",
        "",
        "",
        "def expect_ok(response: Any) -> None:",
        '    """A 200 is a success; anything else a failure with its status."""',
        "    if response.status_code == 200:",
        "        response.success()",
        "    else:",
        '        response.failure(f"status {response.status_code}")',
        "",
        "",
        "class Visitor(FastHttpUser):",
    ]
    if not loadable:
        lines += [
            "    # TODO: no GET route without required parameters was found: fill in one of the",
            "    # tasks below (uncomment it, replace each TODO), or the scenario has nothing to load.",
            "    pass",
        ]
    for route in loadable:
        lines += [
            "    @task",
            f"    def {route.name}(self) -> None:",
            f"        with self.client.get({json.dumps(route.path)}, catch_response=True) as response:",
            "            expect_ok(response)",
            "",
        ]
    for route in (r for r in found if not r.loadable):
        lines += [
            f"    # TODO {route.method.upper()} {route.path}{' (' + route.summary + ')' if route.summary else ''}: {todo(route)}"
        ]
        lines += [
            "    # @task",
            f"    # def {route.name}(self) -> None:",
            f"    #     with self.client.{route.method}({_example_path(route)}, {_example_body(route)}catch_response=True, name={json.dumps(route.path)}) as response:",
            "    #         expect_ok(response)",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def todo(route: Route) -> str:
    """What a route needs before it can be loaded."""
    needs = []
    if route.required:
        needs.append(f"give {', '.join(route.required)} real values")
    if route.body:
        needs.append("send a real JSON body (its schema is in /docs)")
    return "; ".join(needs)


def _example_path(route: Route) -> str:
    path = re.sub(r"\{([^}]+)\}", "TODO", route.path)
    query = [f"{name}=TODO" for name in route.required if "{" + name + "}" not in route.path]
    return json.dumps(path + ("?" + "&".join(query) if query else ""))


def _example_body(route: Route) -> str:
    return 'json={"TODO": "a real body"}, ' if route.body else ""


def scenario(service: str, app: str, locustfile_path: str, found: list[Route], health: str, python: str = "") -> str:
    """The scenario file: one variant, the service, on an open-model sweep to the SLO."""
    checks = [r.path for r in found if r.loadable]
    if health not in checks:
        checks.insert(0, health)
    verify = "\n".join(f'[[verify]]\npath = "{path}"\nstatus = 200\n' for path in checks)
    interpreter = (
        f'python = "{python}"  # the service\'s environment, which serves the app'
        if python
        else "# python = \".venv/bin/python\"  # the interpreter with the app's dependencies, if not the lab's"
    )
    return f'''# Written by `fastapi-lab init --app {app}`: your service on an open-model sweep, read as its
# capacity at the SLO. Edit freely; every key is in the scenario reference (docs/scenario-reference.md
# of the lab's repository), and an unknown key or a bad value is refused in one line.
title = "{service}: capacity at the SLO"
pitfall = "Your own service ({app}), measured as it is: how many requests a second it takes while meeting its SLO."
claim = "No claims yet: run it, read the capacity table, then state what must hold (see [[claims]] below)."
locustfile = "{locustfile_path}"
# TODO: your SLO. A step of the sweep meets it when at most error_rate of its arrivals were not
# answered OK within p99_ms (a failure or a request never answered counts against it).
slo = {{ p99_ms = 100, error_rate = 0.01 }}

[variants]
# One variant, your app. Add another (a branch's fix, a setting) to compare them in one run.
service = "{app}"

[server]
health = "{health}"  # polled until it answers 200 before any load
{interpreter}
# workers = 1         # server processes; kind = "gunicorn" runs gunicorn with uvicorn-worker
# kind = "uvicorn"    # or "gunicorn", "granian", "hypercorn": the same pinning, readiness and stop
# env = {{ DATABASE_URL = "postgresql://..." }}  # the server's environment, if it needs settings

# Every variant must answer these before any load (200, from the OpenAPI's GET routes).
{verify}
# Open model: requests arrive on a Poisson schedule at each offered rate, whatever the server is
# doing, and latency runs from each request's scheduled time (no coordinated omission).
[load]
model = "open"
max_in_flight = 400

# A first look in under a minute: rates x4 from 25 req/s to 1,600, each step decided at 80 %.
[profiles.quick]
warmup_s = 1
duration_s = 3
max_duration_s = 10
decide_confidence = 0.8
settle_s = 1
drain_s = 5
search = {{ start = 25, factor = 4, max = 1600 }}
budget_s = 120

# The capacity: rates doubling from 25 req/s until a step misses the SLO (or 3,200), then two
# bisections; each step runs until a binomial bound decides it (95 % one-sided), at most 20 s.
# Three repeats, each on a fresh server process.
[profiles.default]
warmup_s = 2
duration_s = 5
max_duration_s = 20
settle_s = 1
search = {{ start = 25, factor = 2, max = 3200 }}
bisect = 2
repeats = 3
min_repeats = 3
budget_s = 900

# CI (`fastapi-lab ci --base origin/main`): the base commit and this one run here, in one job,
# interleaved; a regression is head's capacity under 1 - tolerance of the base's, or its p99 at
# `rate` over 1 + tolerance times the base's, with 95 % confidence (2 to 4 repeats, as needed).
[ci]
profile = "ci"
rate = 100
tolerance = 0.25

[profiles.ci]
warmup_s = 1
duration_s = 4
claimed_duration_s = 12  # at `rate`, where p99 is compared: about 1,200 arrivals (a p99 needs 1,000)
max_duration_s = 12
decide_confidence = 0.8
settle_s = 1
drain_s = 5
# Rates doubling: a capacity ratio is resolved to the grid, so the grid must be finer than the
# tolerance lets a change through (x4 steps could not tell 0.75x from 1x).
search = {{ start = 100, factor = 2, max = 1600 }}

# Once the capacity is measured, a claim makes it a check (CI's gate fails when it no longer holds).
# Set its threshold from what you measured, with a margin:
# [[claims]]
# text = "{service} takes at least 200 req/s at p99 <= 100 ms"
# metric = "capacity"
# variant = "service"
# threshold = 200
'''
