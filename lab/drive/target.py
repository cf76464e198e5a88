"""Targets the lab did not start: `lab run SCENARIO --target URL` loads a server running elsewhere
(a compose stack, a staging host) with the scenario's load and judges its claims there.

Load goes to loopback unless the user opts in: any other host needs `--allow-remote`, and gets a
one-line warning. The lab starts nothing for the target (no server, database or upstream): what it
cannot sample there (the server's CPU and memory, the database) is recorded as absent, never as
zero, and claims that need it are inconclusive ("not measured").
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass, field

from lab.errors import LabError
from lab.record.models import Restart
from lab.scenario.models import Scenario


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    variant: str  # what the target serves: its cells are the only ones run
    remote: bool  # not a loopback address (allowed with --allow-remote only)


def parse(url: str, variant: str | None, loaded: Scenario, allow_remote: bool) -> Target:
    """A checked target, or a one-line LabError saying what would be right."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or 80
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None or parts.path not in ("", "/") or parts.query:
        raise LabError(f"--target {url!r}: expected http://HOST:PORT (plain HTTP, no path), e.g. http://127.0.0.1:8000")
    host = parts.hostname
    remote = not _loopback(host)
    if remote and not allow_remote:
        raise LabError(
            f"--target {url}: {host} is not a loopback address; load goes only to this machine unless you pass "
            "--allow-remote"
        )
    names = list(loaded.variants)
    if variant is None:
        if len(names) > 1:
            raise LabError(f"--target: which variant does {url} serve? pass --variant, one of {', '.join(names)}")
        variant = names[0]
    elif variant not in names:
        raise LabError(f"--variant {variant!r}: no such variant in {loaded.path}; one of {', '.join(names)}")
    return Target(url=f"http://{host}:{port}", host=host, port=port, variant=variant, remote=remote)


def _loopback(host: str) -> bool:
    """Every address the name resolves to is a loopback one (a name may resolve to several)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in found)


@dataclass
class External:
    """Stands where `lab.servers.Server` does for a target: nothing to start, sample or stop."""

    target: Target
    pid: int | None = None
    startup_s: float | None = None
    affinity: list[int] | None = None
    stopped: None = None
    restarts: list[Restart] = field(default_factory=list)

    def __enter__(self) -> External:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def schedule_restart(self, *_: object, **__: object) -> None:
        """A server started elsewhere is not the lab's to restart."""

    def check_restart(self) -> None:
        return None
