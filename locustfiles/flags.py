"""Load for uncached-dependency: paced users reading feature flags.

locust -f locustfiles/flags.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task


class Reader(PacedUser):
    @task
    def flag(self) -> None:
        i = random.randrange(200)
        with self.client.get(f"/flags/feature_{i:03d}", name="/flags/{name}", catch_response=True) as response:
            check_json(response, enabled=i % 3 != 0, service="orders")
