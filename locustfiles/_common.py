"""Pieces every locustfile shares: paced users and answer checks.

Locust puts a locustfile's folder on sys.path, so `from _common import ...` works both under
the lab and with a plain `locust -f locustfiles/<name>.py`.
"""

from __future__ import annotations

import random
from time import perf_counter
from typing import Any

import gevent
from locust import FastHttpUser, events


@events.init_command_line_parser.add_listener
def _add_pacing(parser: Any) -> None:
    parser.add_argument(
        "--pacing",
        type=float,
        default=0.5,
        help="seconds between the starts of one user's requests (offered load = users / pacing)",
    )


class PacedUser(FastHttpUser):
    """A user that starts a request every `--pacing` seconds, or at once if the last one ran late.

    Locust's `constant_pacing`, with the interval taken from the command line so that a
    scenario file, not the locustfile, sets the offered load.

    Each user starts at a random phase within the first interval. Locust spawns a whole batch of
    users at once, and without this they would fire in lockstep: bursts of `users` requests
    every `pacing` seconds, whose queueing would show up as a p99 that no real traffic has.
    """

    abstract = True
    _last_start: float | None = None

    def on_start(self) -> None:
        gevent.sleep(random.uniform(0, self._pacing()))

    def _pacing(self) -> float:
        return float(self.environment.parsed_options.pacing)

    def wait_time(self) -> float:
        pacing = self._pacing()
        now = perf_counter()
        wait = pacing if self._last_start is None else max(0.0, pacing - (now - self._last_start))
        self._last_start = now + wait
        return wait


def check_json(response: Any, **expected: Any) -> None:
    """Mark an answer a failure unless it is a 200 whose JSON has the expected fields."""
    if response.status_code != 200:
        response.failure(f"status {response.status_code}")
        return
    try:
        body = response.json()
    except ValueError:
        response.failure("body is not JSON")
        return
    wrong = {k: body.get(k) for k, v in expected.items() if body.get(k) != v}
    if wrong:
        response.failure(f"unexpected fields {wrong}, expected {expected}")
    else:
        response.success()
