"""Loaded by the lab next to a scenario's locustfile (`locust -f <locustfile>,<this file>`).

It adds what Locust's own CSVs lack for an honest summary:
- every request's completion time and exact response time (`requests.csv`), so percentiles are
  computed from raw samples rather than Locust's ~2-significant-digit histogram;
- the test's start on the wall clock (`window.json`), so server-side samples line up with it;
- a warm-up: Locust's own statistics are reset once the warm-up is over, so its CSVs and the
  lab's summary both describe only the measured window;
- an exact end: the test stops itself `--lab-duration` seconds after the warm-up, on the wall
  clock (Locust's `-t` counts on gevent's cached loop clock, which starts a second or more
  early when imports are slow; the lab passes a later `-t` only as a safety bound);
- a `progress.json` rewritten every second for the lab's live progress line;
- the open model (`--lab-rate`, lab/drive/arrivals.py): requests arrive on a schedule fixed in advance
  (Poisson or evenly spaced), each sent at its time whether or not earlier ones have answered,
  so a stalled server is measured by the requests that keep arriving (no coordinated omission);
- the writes the server confirmed (`confirmed_keys.txt`): a request sent with
  `context={"lab_key": ...}` that succeeded adds its key, for the lab to match against the writes
  the upstream took (work lost after the answer, e.g. to a restart).
Under a master (`--processes N`, or `--master` with `--worker`s elsewhere) each worker writes its own
files to `<lab-out>/gen-<worker index>/` and runs its share of the open schedule (rate / N, its own
seed: N independent Poisson streams at rate / N are one Poisson stream at rate; evenly spaced
streams are interleaved); the lab merges them by timestamp (lab/drive/generators.py). The master records
nothing of its own. A worker on another host (`lab worker`) writes into a folder of its own and ships
its files to the master over Locust's messages (lab/drive/shipping.py).
It is inert when `--lab-out` is not given, so a locustfile never depends on it.
"""

from __future__ import annotations

import bisect
import csv
import gc
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import gevent
from gevent.queue import Empty, LifoQueue
from locust import User, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from lab.drive import arrivals, shipping
from lab.paths import write_atomic
from lab.record import raw
from lab.record.window import Window

# t (completion), name, response_ms (from the actual send), ok, status (the HTTP status; 0: none);
# open model: sched, sent, wait (s).
_rows: list[tuple[Any, ...]] = []
_confirmed: list[str] = []  # keys of successful requests that carried one
_state: dict[str, Any] = {}
HEADER = "t,name,response_ms,ok,status,sched,sent,wait\n"


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument("--lab-out", default="", include_in_web_ui=False, help="lab: output folder")
    parser.add_argument("--lab-warmup", type=float, default=0.0, include_in_web_ui=False, help="lab: warm-up s")
    parser.add_argument("--lab-duration", type=float, default=0.0, include_in_web_ui=False, help="lab: measured s")
    parser.add_argument("--lab-rate", type=float, default=0.0, include_in_web_ui=False, help="lab: open model req/s")
    parser.add_argument("--lab-arrivals", default="poisson", include_in_web_ui=False, help="lab: poisson|uniform")
    parser.add_argument("--lab-max-in-flight", type=int, default=200, include_in_web_ui=False, help="lab: cap")
    parser.add_argument("--lab-when-full", default="wait", include_in_web_ui=False, help="lab: wait|drop")
    parser.add_argument("--lab-drain", type=float, default=10.0, include_in_web_ui=False, help="lab: drain s")
    parser.add_argument("--lab-seed", type=int, default=0, include_in_web_ui=False, help="lab: schedule seed")
    # A step that may run on until its SLO is decided: its schedule runs to --lab-max-duration, and
    # the lab ends it earlier by writing <lab-out>/stop.json ({"at": wall-clock end}).
    parser.add_argument("--lab-max-duration", type=float, default=0.0, include_in_web_ui=False, help="lab: max s")
    parser.add_argument("--lab-bounds-ms", default="", include_in_web_ui=False, help="lab: SLO bounds, p99=100,...")


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    """The messages of workers on other hosts: their files to the master, the step's end back."""
    options = environment.parsed_options
    if isinstance(environment.runner, MasterRunner) and options is not None and options.lab_out:
        root = Path(options.lab_out)
        environment.runner.register_message(shipping.FILE, lambda msg, **_: shipping.receive(root, msg.data))
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(shipping.STOP, _on_stop_message)


def _on_stop_message(msg: Any, **_: Any) -> None:
    """A remote worker learns the step's end as a forked one reads it: from `stop.json` in its root."""
    folder = shipping.worker_dir()
    if folder is not None and not (folder / "stop.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "stop.json", json.dumps(msg.data))


def _forward_stop(environment: Environment, path: Path, bound_s: float) -> None:
    """On the master: the lab's `stop.json`, passed on to every worker (remote ones cannot read it)."""
    deadline = time.monotonic() + bound_s
    while not path.is_file():
        if time.monotonic() > deadline:
            return
        gevent.sleep(0.1)
    try:
        at = float(json.loads(path.read_text())["at"])
    except (OSError, ValueError, KeyError):
        return
    if environment.runner is not None:
        environment.runner.send_message(shipping.STOP, {"at": at})


def _ship(environment: Environment, shipper: shipping.Shipper) -> None:
    """A remote worker's files to the master every half second, until the test ends."""
    while "handle" in _state:
        gevent.sleep(0.5)
        shipper.ship()


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.lab_out:
        return
    out = Path(options.lab_out)
    # A full collection walks every object Locust and its imports made: 60 ms with the loop held,
    # measured as load-shedding bad's send-lag max (p99 7-10 ms, generator_bound). Frozen, those are
    # never walked again and collections see only the objects of the load: max 8-17 ms, p99 2.7 ms
    # (with collection off: max 5-10 ms, but cyclic garbage would pile up for the whole run).
    gc.collect()
    gc.freeze()
    if isinstance(environment.runner, MasterRunner):
        # The workers measure; the master only keeps Locust's own CSVs to the measured window.
        gevent.spawn(_reset_after_warmup, environment, float(options.lab_warmup))
        gevent.spawn(_watch_owner, environment)
        bound = options.lab_warmup + max(options.lab_duration, options.lab_max_duration) + 60
        gevent.spawn(_forward_stop, environment, out / "stop.json", bound)
        return
    share = Share(0, 1)
    remote = shipping.worker_dir()
    if isinstance(environment.runner, WorkerRunner):
        share = Share(environment.runner.worker_index, max(1, int(options.expect_workers or 1)))
        out = (remote or out) / f"gen-{share.index}"
    out.mkdir(parents=True, exist_ok=True)
    # The wall clock only places the load beside the samplers and the other processes; every time
    # inside it is a monotonic delta from here (NTP steps the wall clock, never perf_counter).
    t0, _state["origin"] = time.time(), time.perf_counter()
    handle = (out / "requests.csv").open("w", newline="")
    handle.write(HEADER)
    window = Window(t0=t0, warmup_s=options.lab_warmup, duration_s=options.lab_duration)
    if share.of > 1:
        window.generator, window.generators = share.index, share.of
    open_model = options.lab_rate > 0
    if open_model:
        window.model, window.rate, window.arrivals = "open", options.lab_rate / share.of, options.lab_arrivals
    longest = max(options.lab_duration, options.lab_max_duration) if open_model else options.lab_duration
    _state.update(out=out, handle=handle, window=window, measuring=False, t0=t0, end=options.lab_warmup + longest)
    write_atomic(out / "window.json", window.dump())
    if open_model:
        _state["open"] = OpenLoad(environment, options, t0, share)
        gevent.spawn(_state["open"].run)
        if options.lab_max_duration > options.lab_duration:
            stop = (remote or Path(options.lab_out)) / "stop.json"
            gevent.spawn(_watch_stop, stop, options.lab_warmup + options.lab_duration)
    if remote is not None and environment.runner is not None:
        runner = environment.runner
        _state["shipper"] = shipping.Shipper(lambda data: runner.send_message(shipping.FILE, data), out)
        gevent.spawn(_ship, environment, _state["shipper"])
    gevent.spawn(_tick, environment)
    gevent.spawn(_watch_owner, environment)


def clock() -> float:
    """Seconds since this process's load started, on the monotonic clock."""
    return time.perf_counter() - float(_state["origin"])


@events.request.add_listener
def _on_request(
    name: str, response_time: float, exception: Any = None, context: Any = None, response: Any = None, **_: Any
) -> None:
    if "t0" in _state:
        now = clock()
        sched = (context or {}).get("lab_sched")
        status = int(getattr(response, "status_code", 0) or 0)
        if sched is None:
            row: tuple[Any, ...] = (now, name, response_time, 0 if exception else 1, status)
        else:
            # Completed when its response arrived: Locust timed it from its send to its answer, before
            # the locustfile's own checks ran. A task's later request starts after its earlier one.
            cursor = context["lab_cursor"]
            done = min(now, cursor[0] + response_time / 1000.0)
            cursor[0] = done
            row = (
                done,
                name,
                response_time,
                0 if exception else 1,
                status,
                sched,
                context["lab_sent"],
                context["lab_wait"],
            )
            load = _state["open"]
            load.answered += 1
            load.settle(context.get("lab_index"), done - sched if not exception else -1.0)
        _rows.append(row)
        key = (context or {}).get("lab_key")
        if key and not exception:
            _confirmed.append(str(key))


@dataclass(frozen=True)
class Share:
    """This process's part of the load: generator `index` of `of`."""

    index: int
    of: int


def _reset_after_warmup(environment: Environment, warmup_s: float) -> None:
    gevent.sleep(warmup_s)
    environment.stats.reset_all()


class OpenLoad:
    """Arrivals on a fixed schedule, each run as one task of the locustfile's users.

    Up to `max_in_flight` requests are outstanding at once (each slot keeps its own user and so its
    own keep-alive connection). An arrival that finds every slot busy waits for one (`wait`: the
    wait is part of its latency, and is recorded apart) or is dropped and recorded as a failure
    (`drop`). Nothing is skipped silently: every scheduled arrival ends as a row."""

    def __init__(self, environment: Environment, options: Any, t0: float, share: Share) -> None:
        self.environment, self.t0 = environment, t0
        self.rate, self.when_full = float(options.lab_rate), options.lab_when_full
        self.warmup = float(options.lab_warmup)
        self.end = float(_state["end"])
        self.drain = float(options.lab_drain)
        self.schedule = arrivals.schedule(
            self.rate, self.end, options.lab_arrivals, options.lab_seed, share.index, share.of
        )
        seed = arrivals.stream_seed(options.lab_seed, share.index, share.of)
        self.choose = arrivals.task_picker([c for c in environment.user_classes], seed)
        self.free: LifoQueue[dict[type[User], User]] = LifoQueue()
        # The client's pool is the whole generator's: each process holds its share of it.
        for _ in range(max(1, options.lab_max_in_flight // share.of)):
            self.free.put({})
        self.due = 0
        self.done = 0  # tasks finished (their slot is free again)
        self.answered = 0  # arrivals with a row: answered, failed, dropped
        self.outstanding: dict[gevent.Greenlet, float] = {}  # greenlet -> its scheduled time
        self.finished = False
        self.cap_blocked_until = 0.0  # when the last wait for a free slot ended
        self.sampling = True
        self.in_flight_samples: list[tuple[float, int]] = []
        # Per arrival: its latency (s) once answered OK, -1 once failed, NaN while unanswered.
        self.results = [math.nan] * len(self.schedule)
        self.bounds = _bounds(options.lab_bounds_ms)
        first = bisect.bisect_left(self.schedule, self.warmup)
        self.tallies = {name: [first, 0, 0] for name in self.bounds}  # next index, arrivals, bad

    def settle(self, index: int | None, latency_s: float) -> None:
        if index is not None and math.isnan(self.results[index]):
            self.results[index] = latency_s

    def tally(self) -> dict[str, list[int]]:
        """Per SLO bound, the measured arrivals whose bound has passed, and how many were not answered
        OK within it (lab/analysis/decision.py decides from these)."""
        now = clock()
        out: dict[str, list[int]] = {}
        for name, bound_s in self.bounds.items():
            state = self.tallies[name]
            index, arrivals, bad = state
            while (
                index < len(self.schedule) and self.schedule[index] < self.end and self.schedule[index] + bound_s <= now
            ):
                result = self.results[index]
                arrivals += 1
                bad += not (result >= 0 and result <= bound_s)
                index += 1
            state[:] = [index, arrivals, bad]
            out[name] = [arrivals, bad]
        return out

    def in_flight(self) -> int:
        """Arrivals that are due and not yet answered: waiting for a slot, or on the wire (counted
        out when their answer is recorded, the moment their latency ends)."""
        now = clock()
        while self.due < len(self.schedule) and self.schedule[self.due] <= now:
            self.due += 1
        return self.due - self.answered

    def sample(self) -> None:
        """In flight, every 10 ms, as the generator sees it: Little's law is checked against these."""
        while self.sampling:
            self.in_flight_samples.append((clock(), self.in_flight()))
            gevent.sleep(0.01)

    def run(self) -> None:
        sampler = gevent.spawn(self.sample)
        for index, sched in enumerate(self.schedule):
            if sched >= self.end:  # the step was decided and ended early: these never arrive
                break
            delay = sched - clock()
            if delay > 0:
                gevent.sleep(delay)
            if self.when_full == "drop" and self.free.empty():
                self._unsent(index, raw.DROPPED)
                continue
            asked = clock()
            try:
                # Waiting for a slot is part of the latency, but never past the schedule's end: the run
                # stays bounded in time however far behind the server falls.
                slot = self.free.get(timeout=max(0.0, self.end - asked))
            except Empty:
                for late in range(index, len(self.schedule)):
                    if self.schedule[late] < self.end:
                        self._unsent(late, raw.UNSENT)
                break
            got, due = clock(), sched
            # An arrival reached late because the loop was waiting for a slot for an earlier one was
            # held back by the cap too: all its lateness is slot wait, none of it the generator's.
            wait = got - due if self.cap_blocked_until >= due else got - asked
            if got - asked > 0.001:
                self.cap_blocked_until = got
            cls, task = self.choose()
            self.outstanding[gevent.spawn(self._one, slot, cls, task, index, max(0.0, wait))] = sched
        deadline = clock() + self.drain
        while self.outstanding and clock() < deadline:
            gevent.sleep(0.05)
        for sched in self.outstanding.values():
            # Still unanswered after the drain: a failure at the latency it had reached, never a gap.
            _rows.append((clock(), raw.UNANSWERED, 0.0, 0, 0, sched, None, None))
        gevent.killall(list(self.outstanding), block=False)
        self.sampling = False
        sampler.join()
        with (_state["out"] / "in_flight.csv").open("w") as handle:
            handle.write("t,in_flight\n")
            handle.writelines(f"{t:.3f},{n}\n" for t, n in self.in_flight_samples)
        self.finished = True  # only now may the test end: everything above is written

    def _unsent(self, index: int, name: str) -> None:
        _rows.append((clock(), name, 0.0, 0, 0, self.schedule[index], None, None))
        self.settle(index, -1.0)
        self.done += 1
        self.answered += 1

    def _one(self, slot: dict[type[User], User], cls: type[User], task: Any, index: int, wait: float) -> None:
        user = slot.get(cls) or slot.setdefault(cls, cls(self.environment))
        sched, sent = self.schedule[index], clock()
        # Locust merges the user's context() into every request event this task fires; the cursor (one
        # list, shared by reference) carries when the task's previous request completed.
        context = {"lab_sched": sched, "lab_sent": sent, "lab_wait": wait, "lab_index": index, "lab_cursor": [sent]}
        user.context = lambda: context  # type: ignore[method-assign]
        try:
            task(user)
        except Exception as exc:  # a task's own bug must show up, not end the schedule
            _rows.append((clock(), raw.TASK_ERROR, 0.0, 0, 0, sched, sent, wait))
            self.settle(index, -1.0)
            self.answered += 1
            self.environment.events.user_error.fire(user_instance=user, exception=exc, tb=exc.__traceback__)  # type: ignore[no-untyped-call]
        finally:
            self.done += 1
            self.outstanding.pop(gevent.getcurrent(), None)
            self.free.put(slot)


# Rows are written out every FLUSH_S: formatting a second's rows at 1,000 req/s in one go held
# gevent's loop for 2 ms, and the arrivals due meanwhile were sent that late (the send lag's top 1 %
# sat at each second's start). The SLO tally keeps up at the same pace; progress is published once a
# second.
FLUSH_S = 0.1


def _tick(environment: Environment) -> None:
    """Every FLUSH_S: flush rows; once a second: publish progress; end the warm-up and the test when due."""
    window: Window = _state["window"]
    published, completed = 0.0, 0
    load: OpenLoad | None = _state.get("open")  # None: a closed model
    while "handle" in _state:
        end = float(_state["end"])  # moves earlier when the lab ends a decided step
        elapsed = clock()
        if window.duration_s and elapsed >= end:
            window.end_s = round(elapsed, 4)
            if load is not None:
                # The schedule ended at `end`; what it sent must answer (or be counted unanswered).
                window.end_s = round(end, 4)
                window.duration_s = round(end - window.warmup_s, 4)
                while not load.finished:
                    gevent.sleep(0.05)
                window.drained_s = round(clock() - end, 3)
            write_atomic(_state["out"] / "window.json", window.dump())
            if "shipper" in _state:  # everything to the master before this worker says it quit
                _flush(_state["handle"])
                _write_confirmed()
                _state["shipper"].ship()
            if environment.runner is not None:
                environment.runner.quit()
            return
        gevent.sleep(max(0.0, min(FLUSH_S, end - elapsed)) if window.duration_s else FLUSH_S)
        if "handle" not in _state:
            break
        elapsed = clock()
        if not _state["measuring"] and elapsed >= window.warmup_s:
            environment.stats.reset_all()
            _state["measuring"] = True
        completed += len(_rows)
        _flush(_state["handle"])
        slo = load.tally() if load is not None else None  # incremental: a tenth of a second's arrivals
        if elapsed - published < 1.0:
            continue
        published, rps_now, completed = elapsed, completed, 0  # the last second's completions
        total = environment.stats.total
        _write_json(
            _state["out"] / "progress.json",
            {
                "elapsed_s": round(elapsed, 1),
                "phase": "measure" if _state["measuring"] else "warmup",
                "rps_now": rps_now,
                "requests": total.num_requests,
                "failures": total.num_failures,
                "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else None,
                "users": environment.runner.user_count if environment.runner else 0,
                **({"in_flight": load.in_flight(), "slo": slo} if load is not None else {}),
            },
        )


def _watch_stop(path: Path, earliest: float) -> None:
    """The lab decided the step: end the schedule at the wall-clock time it wrote (never before the
    minimum window), so every process of a multi-process generator ends at the same moment."""
    while "handle" in _state and not path.is_file():
        gevent.sleep(0.1)
    try:
        at = float(json.loads(path.read_text())["at"])
    except (OSError, ValueError, KeyError):
        return
    end = max(earliest, clock() + 0.05, at - _state["t0"])
    if end < float(_state["end"]):
        _state["end"] = end
        if "open" in _state:
            _state["open"].end = end


def _bounds(spec: str) -> dict[str, float]:
    """`p99=100,p90=50` -> {"p99": 0.1, "p90": 0.05} (seconds)."""
    pairs = (part.split("=", 1) for part in spec.split(",") if part)
    return {name: float(ms) / 1000.0 for name, ms in pairs}


def _watch_owner(environment: Environment) -> None:
    """If the lab's harness dies (SIGKILL, OOM), stop at once rather than load a server nobody reads."""
    owner = int(os.environ.get("LAB_OWNER_PID", "0") or 0)
    while owner and "handle" in _state:
        gevent.sleep(1.0)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            if environment.runner is not None:
                environment.runner.quit()
            return
        except PermissionError:
            pass


def _flush(handle: TextIO) -> None:
    rows = _rows[:]
    del _rows[: len(rows)]
    csv.writer(handle).writerows((f"{r[0]:.4f}", r[1], f"{r[2]:.3f}", r[3], r[4], *map(_seconds, r[5:])) for r in rows)
    handle.flush()


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    handle = _state.pop("handle", None)
    if handle is not None:
        _flush(handle)
        handle.close()
        _write_confirmed()


def _write_confirmed() -> None:
    if _confirmed:
        (_state["out"] / "confirmed_keys.txt").write_text("".join(f"{k}\n" for k in _confirmed))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.5f}"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data))
