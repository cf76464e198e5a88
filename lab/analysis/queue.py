"""Queue models: the latency a queue with known servers and discipline gives a list of arrivals
and service times. The reference beside each measured step of a sweep.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence


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
