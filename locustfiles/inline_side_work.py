"""Load for inline-side-work: paced users checking out orders.

locust -f locustfiles/inline_side_work.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task


class Buyer(PacedUser):
    @task(9)
    def checkout(self) -> None:
        order_id = random.randint(1, 100_000)
        with self.client.get(f"/checkout/{order_id}", name="/checkout/{id}", catch_response=True) as response:
            check_json(response, order_id=order_id, status="confirmed")

    @task(1)
    def neighbour(self) -> None:
        with self.client.get("/health", name="neighbour /health", catch_response=True) as response:
            check_json(response, status="ok")
