"""Load for the HTTP-client pitfalls: paced users fetching items the app gets from the upstream,
plus neighbour probes on /health. Answers served from a fallback are reported under their own
name, so that degraded answers are counted, not hidden.

    locust -f locustfiles/upstream_items.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser, check_json
from locust import task


class Shopper(PacedUser):
    @task(9)
    def item(self) -> None:
        item_id = random.randint(1, 1000)
        with self.client.get(f"/items/{item_id}", name="/items/{id}", catch_response=True) as response:
            check_json(response, id=item_id)
            if response.status_code == 200 and response.json().get("source") == "fallback":
                response.request_meta["name"] = "/items/{id} (fallback)"

    @task(1)
    def neighbour(self) -> None:
        with self.client.get("/health", name="neighbour /health", catch_response=True) as response:
            check_json(response, status="ok")
