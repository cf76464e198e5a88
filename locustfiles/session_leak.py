"""Load for session-leak: paced users reading orders; one read in ten asks for a missing order.

A 404 for a missing order is the right answer (the error path under test), not a failure.

    locust -f locustfiles/session_leak.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task

ORDERS = 1000  # the seed has at least this many orders


class Reader(PacedUser):
    @task(9)
    def order(self) -> None:
        order_id = random.randint(1, ORDERS)
        with self.client.get(f"/orders/{order_id}", name="/orders/{id}", catch_response=True) as response:
            check_json(response, id=order_id)

    @task(1)
    def missing(self) -> None:
        with self.client.get("/orders/999999999", name="/orders/{missing}", catch_response=True) as response:
            if response.status_code == 404:
                response.success()
            else:
                response.failure(f"expected 404, got {response.status_code}")
