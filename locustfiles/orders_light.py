"""Load for base-http-middleware: paced users reading a small order; the timing header must be there.

locust -f locustfiles/orders_light.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task


class Reader(PacedUser):
    @task
    def order(self) -> None:
        order_id = random.randint(1, 10_000)
        with self.client.get(f"/orders/{order_id}", name="/orders/{id}", catch_response=True) as response:
            check_json(response, order_id=order_id)
            if "x-process-time-ms" not in response.headers:
                response.failure("no x-process-time-ms header")
