"""The open model's schedule: arrival times fixed in advance, split across generator processes."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any


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
