"""Load for the serialization pitfalls: closed-loop users asking for the list as fast as it comes.

The check is deliberately cheap (status, and a body that is a JSON array) so Locust's core goes to
sending load, not to parsing large bodies; the runner verifies full bodies before the load.

    locust -f locustfiles/json_payload.py -H http://127.0.0.1:8000 --pacing 0
"""

from _common import PacedUser
from locust import task


class Reader(PacedUser):
    @task
    def items(self) -> None:
        with self.client.get("/items", catch_response=True) as response:
            if response.status_code != 200 or not response.content.startswith(b"["):
                response.failure(f"status {response.status_code}, body starts {response.content[:20]!r}")
