"""Load for n-plus-one: paced users paging through the user list (20 users and their orders a page).

locust -f locustfiles/n_plus_one.py -H http://127.0.0.1:8000
"""

import random

from _common import PacedUser
from locust import task

PAGES = 10  # the seed has at least PAGES * 20 users
PAGE = 20


class Browser(PacedUser):
    @task
    def page(self) -> None:
        page = random.randrange(PAGES)
        with self.client.get(f"/users?page={page}", name="/users?page", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            body = response.json()
            ids = [u["id"] for u in body]
            expected = list(range(page * PAGE + 1, page * PAGE + PAGE + 1))
            if ids != expected:
                response.failure(f"page {page} listed users {ids[:3]}..., expected {expected[:3]}...")
