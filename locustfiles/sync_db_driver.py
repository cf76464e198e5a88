"""Load for sync-db-driver: paced users asking for order summaries, plus neighbour probes.

locust -f locustfiles/sync_db_driver.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task

USERS = 200  # the seed has at least this many users


class Customer(PacedUser):
    @task(9)
    def summary(self) -> None:
        user_id = random.randint(1, USERS)
        with self.client.get(f"/users/{user_id}/summary", name="/users/{id}/summary", catch_response=True) as r:
            check_json(r, user_id=user_id)

    @task(1)
    def neighbour(self) -> None:
        with self.client.get("/health", name="neighbour /health", catch_response=True) as response:
            check_json(response, status="ok")
