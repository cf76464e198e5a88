"""Load for background-tasks: paced users signing up (each signup queues a welcome email) and
reading a quick report from a `def` endpoint, the neighbour whose wait shows the threadpool.

    locust -f locustfiles/signups.py -H http://127.0.0.1:8000 --pacing 0.2
"""

import itertools

from _common import PacedUser, check_json
from locust import task

_ids = itertools.count(1)


class Member(PacedUser):
    @task(4)
    def signup(self) -> None:
        user_id = next(_ids)
        with self.client.post(f"/signup/{user_id}", name="/signup/{id}", catch_response=True) as response:
            check_json(response, id=user_id, status="created")

    @task(1)
    def report(self) -> None:
        with self.client.get("/report", name="neighbour /report", catch_response=True) as response:
            check_json(response, total=sum(range(1000)))
