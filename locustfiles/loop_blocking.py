"""Load for loop-blocking: paced users calling /work, plus a small share of neighbour probes.

The neighbour probe (/health, reported under its own name) never touches the blocking code:
its latency shows what the pitfall does to requests that did nothing wrong.

    locust -f locustfiles/loop_blocking.py -H http://127.0.0.1:8000            # web UI
    locust -f locustfiles/loop_blocking.py -H http://127.0.0.1:8000 --pacing 0.25
"""

from _common import PacedUser, check_json
from locust import task


class Visitor(PacedUser):
    @task(9)
    def work(self) -> None:
        with self.client.get("/work", catch_response=True) as response:
            check_json(response, ok=True)

    @task(1)
    def neighbour(self) -> None:
        with self.client.get("/health", name="neighbour /health", catch_response=True) as response:
            check_json(response, status="ok")
