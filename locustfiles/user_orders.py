"""Load for capacity: a user's orders, by random user id.

locust -f locustfiles/user_orders.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser
from locust import task

USERS = 1000  # the capacity scenario seeds this many users


class Customer(PacedUser):
    @task
    def orders(self) -> None:
        user_id = random.randint(1, USERS)
        with self.client.get(f"/users/{user_id}/orders", name="/users/{id}/orders", catch_response=True) as r:
            body = r.json() if r.status_code == 200 else None
            if not body or body.get("user", {}).get("id") != user_id or len(body.get("orders", [])) != 5:
                r.failure(f"status {r.status_code}: not user {user_id} with 5 orders")
            else:
                r.success()
