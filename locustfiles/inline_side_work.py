"""Load for inline-side-work: paced users checking out orders.

Every checkout has an order id of its own and tells the lab its audit's key (`lab_key`): a
checkout answered "confirmed" promised that audit, and the lab counts the promises the audit
service never saw (locust_plugin, runner: `writes_lost`).

locust -f locustfiles/inline_side_work.py -H http://127.0.0.1:8000
"""

import itertools
import random

from _common import PacedUser, check_json
from locust import task

ORDER_IDS = itertools.count(random.randrange(1_000_000, 2_000_000_000, 1_000_000))


class Buyer(PacedUser):
    @task(9)
    def checkout(self) -> None:
        order_id = next(ORDER_IDS)
        with self.client.get(
            f"/checkout/{order_id}",
            name="/checkout/{id}",
            catch_response=True,
            context={"lab_key": f"checkout-{order_id}"},
        ) as response:
            check_json(response, order_id=order_id, status="confirmed")

    @task(1)
    def neighbour(self) -> None:
        with self.client.get("/health", name="neighbour /health", catch_response=True) as response:
            check_json(response, status="ok")
