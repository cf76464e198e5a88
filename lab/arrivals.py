"""The open model's arrival schedule, and the queue it would meet if the server were one FIFO queue.

Arrival times are drawn before the load starts, so no answer (or lack of one) can move them: that
is what frees the open model from coordinated omission. The same times feed the queueing
prediction, so measured and predicted latency see the very same arrivals.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from typing import Any

# Names of rows that are not a request the locustfile made.
DROPPED = "(dropped: in-flight cap)"
UNANSWERED = "(unanswered at drain end)"
UNSENT = "(not sent: in-flight cap full at the schedule's end)"
TASK_ERROR = "(task error)"
NOT_REQUESTS = (DROPPED, UNANSWERED, UNSENT, TASK_ERROR)


def schedule(
    rate: float, end_s: float, process: str = "poisson", seed: int = 0, stream: int = 0, streams: int = 1
) -> list[float]:
    """Arrival times in (0, end_s): a Poisson process (exponential gaps) or evenly spaced.

    With `streams` > 1, stream `stream` of `streams` that together make that process: each a Poisson
    process at rate / streams with a seed of its own (their superposition is Poisson at `rate`), or
    every `streams`-th of the evenly spaced times."""
    if rate <= 0:
        raise ValueError(f"arrival rate must be positive, got {rate}")
    if process not in ("poisson", "uniform"):
        raise ValueError(f"arrival process must be 'poisson' or 'uniform', got {process!r}")
    if not 0 <= stream < streams:
        raise ValueError(f"stream {stream} of {streams}: needs 0 <= stream < streams")
    times: list[float] = []
    if process == "uniform":
        t = (stream + 0.5) / rate
        while t < end_s:
            times.append(t)
            t += streams / rate
        return times
    rng = random.Random(stream_seed(seed, stream, streams))
    share = rate / streams
    t = rng.expovariate(share)
    while t < end_s:
        times.append(t)
        t += rng.expovariate(share)
    return times


def stream_seed(seed: int, stream: int, streams: int) -> int:
    """The seed of one of `streams` generator processes: the run's own when there is one, else one
    per stream, so no two processes draw the same arrivals or the same task mix."""
    return seed if streams == 1 else seed * 1009 + stream + 1


def task_picker(user_classes: Sequence[type[Any]], seed: int = 0) -> Callable[[], tuple[type[Any], Any]]:
    """Pick a (user class, task) per arrival with Locust's own weights: class `weight`, then the
    `@task(n)` weights (Locust expands them into repeated entries of `tasks`)."""
    classes = [c for c in user_classes if getattr(c, "tasks", None)]
    if not classes:
        raise ValueError("the locustfile defines no user class with tasks")
    for cls in classes:
        for task in cls.tasks:
            if isinstance(task, type):
                raise ValueError(
                    f"{cls.__name__}: the open model runs @task methods of a User, not TaskSet {task.__name__}"
                )
    rng = random.Random(seed + 1)
    weights = [max(1, int(getattr(c, "weight", 1))) for c in classes]

    def pick() -> tuple[type[Any], Any]:
        cls = rng.choices(classes, weights)[0]
        return cls, rng.choice(cls.tasks)

    return pick


def fifo_latency(arrivals: Sequence[float], services: Sequence[float], servers: int = 1) -> list[float]:
    """Time in system of each arrival at a first-come-first-served queue with `servers` servers.

    With one server this is Lindley's recursion (wait = max(0, previous wait + previous service -
    gap)); with c servers each arrival starts when it has arrived and the earliest server is free
    (Kiefer-Wolfowitz). Arrivals must be sorted; services are in the same unit."""
    if servers < 1:
        raise ValueError("a queue needs at least one server")
    free = [0.0] * servers  # when each server is next free, as a heap
    out = []
    for arrival, service in zip(arrivals, services, strict=True):
        start = max(arrival, free[0])
        heapq.heapreplace(free, start + service)
        out.append(start + service - arrival)
    return out


def queue_latency(
    arrivals: Sequence[float],
    services: Sequence[float],
    servers: int = 1,
    discipline: str = "fifo",
    seed: int = 0,
) -> list[float]:
    """Time in system of each arrival at a queue with `servers` servers that, whenever one frees,
    serves the earliest waiting arrival (`fifo`) or any waiting arrival at random (`random`: what a
    server that picks among ready connections in no particular order does). Arrivals sorted."""
    if discipline == "fifo":
        return fifo_latency(arrivals, services, servers)
    if discipline == "batches":
        return batch_latency(arrivals, services, seed)
    if discipline != "random":
        raise ValueError(f"queue discipline must be 'fifo', 'random' or 'batches', got {discipline!r}")
    rng = random.Random(seed)
    free = [0.0] * servers
    out = [0.0] * len(arrivals)
    waiting: list[int] = []
    i, n = 0, len(arrivals)
    while i < n or waiting:
        ready = free[0]
        while i < n and arrivals[i] <= ready:
            waiting.append(i)
            i += 1
        if not waiting:  # idle until the next arrival
            waiting.append(i)
            i += 1
        k = rng.randrange(len(waiting))
        waiting[k], waiting[-1] = waiting[-1], waiting[k]
        j = waiting.pop()
        start = max(ready, arrivals[j])
        heapq.heapreplace(free, start + services[j])
        out[j] = start + services[j] - arrivals[j]
    return out


def batch_latency(arrivals: Sequence[float], services: Sequence[float], seed: int = 0) -> list[float]:
    """One server that works in rounds, like an event loop: each round takes every arrival that came
    while the previous round ran, and serves them one after another in no particular order (the
    order the poller reports ready sockets)."""
    rng = random.Random(seed)
    out = [0.0] * len(arrivals)
    t, i, n = 0.0, 0, len(arrivals)
    while i < n:
        t = max(t, arrivals[i])
        batch = []
        while i < n and arrivals[i] <= t:
            batch.append(i)
            i += 1
        rng.shuffle(batch)
        for j in batch:
            t += services[j]
            out[j] = t - arrivals[j]
    return out
