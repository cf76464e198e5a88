"""Load for shared-state: paced users, each one user of the seed, reading its own profile. A
profile must carry the user's own id: any other is another request's user, and a failure.

    locust -f locustfiles/profiles.py -H http://127.0.0.1:8000
"""

from __future__ import annotations

import itertools

from _common import PacedUser
from locust import task

_ids = itertools.count(1)


class Account(PacedUser):
    def on_start(self) -> None:
        self.user_id = next(_ids)  # one seed user per Locust user
        super().on_start()

    @task
    def profile(self) -> None:
        path = f"/users/{self.user_id}/profile"
        with self.client.get(path, name="/users/{id}/profile", catch_response=True) as response:
            got = response.json().get("id") if response.status_code == 200 else None
            if got != self.user_id:
                response.failure(f"asked for user {self.user_id}'s profile, got user {got}'s")
