"""Load for cpu-bound-in-async: paced users asking for computations, plus neighbour probes on /health.

locust -f locustfiles/cpu_work.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task


class Client(PacedUser):
    @task
    def work(self) -> None:
        seed = random.randint(1, 1_000_000)
        with self.client.get(f"/work/{seed}", name="/work/{seed}", catch_response=True) as response:
            check_json(response, seed=seed)

    @task
    def neighbour(self) -> None:
        with self.client.get("/health", name="neighbour /health", catch_response=True) as response:
            check_json(response, status="ok")
