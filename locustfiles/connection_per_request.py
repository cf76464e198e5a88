"""Load for connection-per-request: paced users reading one user row each.

locust -f locustfiles/connection_per_request.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task

USERS = 200  # the seed has at least this many users


class Reader(PacedUser):
    @task
    def user(self) -> None:
        user_id = random.randint(1, USERS)
        with self.client.get(f"/users/{user_id}", name="/users/{id}", catch_response=True) as response:
            check_json(response, id=user_id, email=f"user{user_id}@example.com")
