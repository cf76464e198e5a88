"""Load for streaming-session: a few users exporting back to back, the rest reading single orders.

An export must arrive whole (EXPORTED lines, the first one order 1); a single order must be the one
asked for. Either fails when the server's pool is empty: it answers 500 after its 1 s pool timeout.

    locust -f locustfiles/exports.py -H http://127.0.0.1:8000 --pacing 0.2
"""

from __future__ import annotations

import json
import os
import random

from _common import PacedUser, check_json
from locust import constant, task

EXPORTED = int(os.environ.get("EXPORTED", "1000"))
EXPORTERS = int(os.environ.get("EXPORTERS", "6"))
ORDERS = 1000  # the seed has at least this many orders


class Exporter(PacedUser):
    """Starts the next export as soon as the last one ends: EXPORTERS streams always open."""

    fixed_count = EXPORTERS
    wait_time = constant(0)

    @task
    def export(self) -> None:
        with self.client.get("/export", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            lines = response.content.splitlines()
            if len(lines) != EXPORTED or json.loads(lines[0]).get("id") != 1:
                response.failure(f"export of {len(lines)} lines, expected {EXPORTED} from order 1")
            else:
                response.success()


class Reader(PacedUser):
    @task
    def order(self) -> None:
        order_id = random.randint(1, ORDERS)
        with self.client.get(f"/orders/{order_id}", name="/orders/{id}", catch_response=True) as response:
            check_json(response, id=order_id)
