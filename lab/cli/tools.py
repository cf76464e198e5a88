"""`lab list`, the compose stack's settings and server, and the generator's wrk check."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.cli.common import Subparsers
from lab.drive import compose, wrkcheck
from lab.errors import LabError
from lab.paths import shown
from lab.scenario import loading


def _list(args: argparse.Namespace) -> int:
    names = loading.known()
    if args.json:
        found = []
        for name in names:
            try:
                item = loading.load(name)
                found.append({"name": name, "title": item.title, "variants": list(item.variants), "path": item.path})
            except LabError as exc:
                found.append({"name": name, "error": str(exc)})
        print(json.dumps(found, indent=2))
        return 0
    width = max(map(len, names), default=0)
    for name in names:
        try:
            loaded = loading.load(name)
            print(f"{name:<{width}}  {loaded.title}: {', '.join(loaded.variants)}")
        except LabError as exc:
            print(f"{name:<{width}}  (invalid) {exc}")
    return 0


def _compose_env(args: argparse.Namespace) -> int:
    _settings(args)
    return 0


def _settings(args: argparse.Namespace) -> compose.Stack:
    """Write the settings and print what `make up` starts and where."""
    loaded = loading.load(args.scenario)
    stack = compose.write(loaded, args.variant, args.network, args.free_ports)
    s = stack.settings
    print(f"settings: {shown(stack.env_file)}")
    print(f"  app       {s['APP']} on {s['SERVER']} x{s['WORKERS']} -> {stack.app_url}  (cpus {s['LAB_SERVER_CPUS']})")
    print(f"  postgres  max_connections={s['PG_MAX_CONNECTIONS']} -> {stack.database_url}")
    print(f"  upstream  -> http://127.0.0.1:{s['UPSTREAM_PORT']} (control {s['UPSTREAM_CONTROL_PORT']})")
    print(
        f"  locust    web UI http://127.0.0.1:{s['LOCUST_WEB_PORT']} (with load=N workers; cpus {s['LAB_GENERATOR_CPUS']})"
    )
    target = stack.proxy_url or stack.app_url
    if stack.proxy_url:
        print(f"  nginx     {shown(Path(s['PROXY_CONF']))} -> {stack.proxy_url} (in front of the app)")
    print(
        f"  the lab's load: DATABASE_URL={stack.database_url} UPSTREAM_CONTROL_URL={stack.upstream_control_url} "
        f"lab run {loaded.name} --target {target} --variant {args.variant}"
    )
    return stack


def _compose_up(args: argparse.Namespace) -> int:
    """`make up`: the settings, then the stack with the compose this machine has, healthy."""
    import os

    stack = _settings(args)
    cmd = compose.tool()
    base = compose.base_args(stack.env_file, args.network, args.project, bool(args.load), bool(stack.proxy_url))
    services = [*stack.services, *(compose.LOAD if args.load else [])]
    scale = {"locust-worker": args.load} if args.load else None
    print(f"starting with `{' '.join(cmd)}` (compose v{compose.major(cmd)}); waiting until healthy")
    compose.up(cmd, base, services, dict(os.environ), scale)
    print(compose.ps(cmd, base))
    return 0


def _compose_down(args: argparse.Namespace) -> int:
    import subprocess

    profiles = ["--profile", "load", "--profile", "proxy"]
    cmd = [*compose.tool(), "-p", args.project, *profiles, "down", "-v", "--remove-orphans"]
    return subprocess.run(cmd, timeout=600).returncode


def add_list(sub: Subparsers) -> None:
    p = sub.add_parser("list", help="scenarios with one-line descriptions", epilog="example: list --json")
    p.add_argument("--json", action="store_true", help="name, title, variants and file of each, as JSON")
    p.set_defaults(func=_list)


def add_wrk_check(sub: Subparsers) -> None:
    p = sub.add_parser("wrk-check", help="benchmark: the open model's achieved maximum against wrk's (needs wrk)")
    p.set_defaults(func=lambda _: wrkcheck.main())


def add_compose_env(sub: Subparsers) -> None:
    p = sub.add_parser("compose-env", help="the compose stack's settings for one variant of a scenario (make up)")
    p.add_argument("scenario")
    p.add_argument("--variant", required=True, help="the variant the stack's app serves")
    p.add_argument("--network", choices=["bridge", "host"], default="bridge", help="compose network or the host's")
    p.add_argument("--free-ports", action="store_true", help="free loopback ports instead of the defaults")
    p.set_defaults(func=_compose_env)


def add_compose_up(sub: Subparsers) -> None:
    p = sub.add_parser("compose-up", help="the compose stack serving one variant, up and healthy (make up)")
    p.add_argument("scenario")
    p.add_argument("--variant", required=True, help="the variant the stack's app serves")
    p.add_argument("--load", type=int, metavar="N", help="also Locust's master (web UI) and N workers")
    p.add_argument("--network", choices=["bridge", "host"], default="bridge", help="compose network or the host's")
    p.add_argument("--free-ports", action="store_true", help="free loopback ports instead of the defaults")
    p.add_argument("--project", default=compose.PROJECT, help=f"compose project name (default {compose.PROJECT})")
    p.set_defaults(func=_compose_up)


def add_compose_down(sub: Subparsers) -> None:
    p = sub.add_parser("compose-down", help="every container, network and volume of the stack (make down)")
    p.add_argument("--project", default=compose.PROJECT, help=f"compose project name (default {compose.PROJECT})")
    p.set_defaults(func=_compose_down)


def add_serve(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="the app container's command: APP served as SERVER, WORKERS, LOOP, HTTP")
    p.set_defaults(func=lambda _: compose.serve())
