"""Load for proxy-keepalive: sparse traffic whose idle gaps fall across the app's keep-alive.

Every user sends one POST at the same ticks. All connections nginx keeps to the app are freed
together after a tick and reused together at the next, so each upstream connection is idle for one
tick's gap, and every tick gives each user's request one chance to meet a connection the app is
closing. Each gap is drawn uniformly from `--gap-center` +/- 5 ms, since where inside that range the
race sits (the app's timer firing, its close reaching nginx) depends on the machine. A fixed sweep
of the range (101 steps of 0.1 ms) visited 40 of its steps in a 40 s cell, steps as far apart as
the race's window is wide, and the count of 502s per cell then swung 14 to 43 of 320 with where the
window fell among them; drawn at random, each tick lands in the window with the same chance. An
open model would spread arrivals over whole seconds and almost never land in that window: the
pattern is chosen to reproduce the race, and the scenario says so.

    locust -f locustfiles/keepalive_gaps.py -H http://127.0.0.1:8080 --users 8 --gap-center 1.002
"""

from __future__ import annotations

import random
import time
from typing import Any, ClassVar

import gevent
from _common import check_json
from locust import FastHttpUser, events, task

SPREAD_S = 0.005  # each gap within 5 ms of the center
BODY = {"item": "book", "quantity": 1}


@events.init_command_line_parser.add_listener
def _add_gap(parser: Any) -> None:
    parser.add_argument("--gap-center", type=float, default=1.002, help="seconds between ticks, on average")


class Client(FastHttpUser):
    ticks: ClassVar[list[float]] = []  # when each tick is (monotonic clock), shared by every user of this process
    tick = 0  # the user's next tick

    def wait_time(self) -> float:
        return 0.0  # the task itself waits for the next tick

    def _at(self, k: int) -> float:
        ticks = Client.ticks
        center = float(self.environment.parsed_options.gap_center)
        while len(ticks) <= k:  # each gap drawn once, for every user
            ticks.append(ticks[-1] + center + random.uniform(-SPREAD_S, SPREAD_S) if ticks else time.monotonic() + 0.5)
        return ticks[k]

    @task
    def order(self) -> None:
        now = time.monotonic()
        while self._at(self.tick) <= now:  # a tick already past (a late answer, a late start): the next
            self.tick += 1
        gevent.sleep(self._at(self.tick) - now)
        self.tick += 1
        with self.client.post("/orders", json=BODY, name="/orders", catch_response=True) as response:
            check_json(response)
