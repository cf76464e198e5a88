"""Processes the lab starts: each in its own session, pinned, tagged, and always stopped.

Every child gets `LAB_RUN_ID` in its environment. That tag, inherited by anything the child
forks (gunicorn workers, uvicorn's supervisor), is how the lab finds and proves gone every
process of a run, whatever process group it ended up in.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from lab.errors import LabError

RUN_TAG = "LAB_RUN_ID"
OWNER_TAG = "LAB_OWNER_PID"  # the harness that started a process: if it is gone, the process is an orphan


# Linux pins a process to cores (sched_setaffinity); macOS and Windows cannot, and there the server
# and Locust share every core: cells are flagged `unpinned`, and their claims stay inconclusive.
CAN_PIN = hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")
NO_PINNING = (
    "note: this platform cannot pin processes to cores (no sched_setaffinity): the server and Locust share "
    "every core, cells are flagged unpinned, and no claim on them passes or fails"
)


def available_cores() -> list[int]:
    """The cores this process may run on (every core where the platform cannot say)."""
    if CAN_PIN:
        return sorted(os.sched_getaffinity(0))
    return list(range(psutil.cpu_count() or 1))


@dataclass(frozen=True)
class CoreLayout:
    server: list[int]
    generator: list[int]
    pinned: bool


def core_layout(server: Sequence[int] = (), generator: Sequence[int] = ()) -> CoreLayout:
    """Server and Locust on disjoint cores; on one core nothing can be separated, and we say so.
    Unless told otherwise the server takes the first half of the cores and Locust every other one
    (one Locust process per core: lab/drive/generators.py), so a bigger machine gets a bigger generator."""
    available = available_cores()
    if not CAN_PIN:
        return CoreLayout(available, available, False)
    for core in [*server, *generator]:
        if core not in available:
            raise LabError(f"pinning: core {core} is not available here; cores: {available}")
    if server and generator:
        return CoreLayout(list(server), list(generator), True)
    if len(available) < 2:
        return CoreLayout(available, available, False)
    if not server:
        server = [c for c in available if c not in generator][: max(1, len(available) // 2)]
    generator = list(generator) or [c for c in available if c not in server]
    return CoreLayout(list(server), generator, True)


# Run in the child before it becomes `cmd`: pins itself, then execs. Unlike `taskset`, it cannot be
# missing, and unlike preexec_fn it is safe while the harness runs sampling threads.
_PIN_AND_EXEC = "import os,sys; os.sched_setaffinity(0, [int(c) for c in sys.argv[1].split(',')]); os.execvp(sys.argv[2], sys.argv[2:])"


def spawn(cmd: list[str], *, cores: list[int], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start `cmd` in a new session (its own process group), pinned to `cores`, output to `log`.

    The affinity is set in the child itself and inherited by everything it forks; read it back
    with `affinity` to know what was in force."""
    if CAN_PIN:
        cmd = [sys.executable, "-I", "-S", "-c", _PIN_AND_EXEC, ",".join(map(str, cores)), *cmd]
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def affinity(pid: int) -> list[int] | None:
    """The cores a process and its descendants may run on (their union); None if it is gone."""
    try:
        root = psutil.Process(pid)
        cores: set[int] = set()
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, AttributeError):  # no cpu_affinity on macOS
                cores |= set(proc.cpu_affinity() or [])
        return sorted(cores)
    except psutil.NoSuchProcess:
        return None


@dataclass(frozen=True)
class Stopped:
    """How an owned process ended: its exit code, and whether it had to be SIGKILLed."""

    code: int | None
    killed: bool


def stop(proc: subprocess.Popen[bytes], grace_s: float) -> Stopped:
    """SIGTERM the process group, wait up to `grace_s` for all of it, then SIGKILL what is left.

    The whole tree is awaited, not just its leader: a wrapper (runuser, gunicorn's arbiter) may
    exit before the processes it started have finished shutting down. The leader is awaited
    through `proc` only: psutil would reap it too, and its exit status would be lost."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
        psutil.wait_procs(children, timeout=max(0.0, deadline - time.monotonic()))
    # Whatever ignored SIGTERM, or left the group, is killed now.
    killed = proc.poll() is None or bool(_alive(children))
    _signal_group(proc.pid, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    try:
        code: int | None = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        code, killed = None, True
    psutil.wait_procs(children, timeout=5)
    return Stopped(code, killed)


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
    return out


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def scratch_dir(kind: str) -> Path:
    """A folder outside results/ for a run's throwaway files (e.g. the embedded database), named
    after the harness that owns it, so that `remove_dead_scratch` finds it if that harness dies."""
    return Path(tempfile.mkdtemp(prefix=f"lab-{kind}-{os.getpid()}-"))


_SCRATCH = re.compile(r"^lab-[a-z]+-(\d+)-")


def remove_dead_scratch(folder: Path | None = None) -> list[Path]:
    """Scratch folders whose harness is gone (SIGKILL, OOM): removed, so a dead run leaves no disk behind."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob("lab-*-*-*"):
        match = _SCRATCH.match(path.name)
        if match and path.is_dir() and int(match[1]) != os.getpid() and not psutil.pid_exists(int(match[1])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def kill_orphans() -> list[int]:
    """Processes a lab run started whose harness has died (SIGKILL, OOM): killed before a new run
    starts, so a crash never leaves a server, Locust or database running for long."""
    orphans = []
    for proc in psutil.process_iter(["pid"]):
        try:
            owner = proc.environ().get(OWNER_TAG)
            if owner and owner.isdigit() and int(owner) != os.getpid() and not psutil.pid_exists(int(owner)):
                orphans.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    for proc in orphans:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(orphans, timeout=5)
    return [p.pid for p in orphans]


def tagged(run_id: str, exclude: set[int] | None = None) -> list[psutil.Process]:
    """Every live process carrying this run's tag (but those in `exclude`: services still meant to run)."""
    found = []
    skip = {os.getpid(), *(exclude or set())}
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid not in skip and proc.environ().get(RUN_TAG) == run_id:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def kill_tagged(run_id: str) -> list[int]:
    """Last line of defence: SIGKILL anything of this run still alive; returns their pids."""
    procs = tagged(run_id)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)
    return [p.pid for p in procs]


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on the port. SO_REUSEADDR, as the servers use it, so that
    TIME_WAIT leftovers of closed connections do not count as taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def wait_port_free(host: str, port: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while port_in_use(host, port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def tail(log: Path, lines: int = 1) -> str:
    """The last meaningful lines of a log, joined for a one-line error message."""
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())
