"""Load for load-shedding: user reads, with a refusal (503) recorded under its own name.

A shed request is a failure, as the client sees it; naming it apart lets the lab count what was
shed (`requests` of "shed (503)") apart from what failed otherwise, and keeps the latency of
answered reads free of refusals' microseconds.

locust -f locustfiles/shedding.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task

USERS = 200
SHED = "shed (503)"


class Reader(PacedUser):
    @task
    def user(self) -> None:
        user_id = random.randint(1, USERS)
        with self.client.get(f"/users/{user_id}", name="/users/{id}", catch_response=True) as response:
            if response.status_code == 503:
                response.request_meta["name"] = SHED
                response.failure("shed: 503 Service Unavailable")
            else:
                check_json(response, id=user_id, email=f"user{user_id}@example.com")
