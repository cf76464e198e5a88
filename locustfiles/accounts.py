"""Load for shared-state: paced users, each one user of the seed, reading its profile and changing
one setting at a time. Every answer is checked against what this user alone could have caused: a
profile must carry the user's own id, and settings must hold every value this user set last.

    locust -f locustfiles/accounts.py -H http://127.0.0.1:8000
"""

from __future__ import annotations

import itertools
import random

from _common import PacedUser
from locust import task

THEMES, LANGUAGES = ["light", "dark", "contrast"], ["en", "fr", "de", "ja"]
_ids = itertools.count(1)


class Account(PacedUser):
    def on_start(self) -> None:
        self.user_id = next(_ids)  # one seed user per Locust user: nobody else changes its settings
        self.expected = {"theme": "light", "language": "en", "newsletter": False}
        super().on_start()

    @task(3)
    def profile(self) -> None:
        path = f"/users/{self.user_id}/profile"
        with self.client.get(path, name="/users/{id}/profile", catch_response=True) as response:
            got = response.json().get("id") if response.status_code == 200 else None
            if got != self.user_id:
                response.failure(f"asked for user {self.user_id}'s profile, got user {got}'s")

    @task(1)
    def change_one_setting(self) -> None:
        field, value = random.choice(
            [
                ("theme", random.choice(THEMES)),
                ("language", random.choice(LANGUAGES)),
                ("newsletter", random.random() < 0.5),
            ]
        )
        self.expected[field] = value
        path = f"/users/{self.user_id}/settings"
        with self.client.patch(path, json={field: value}, name="/users/{id}/settings", catch_response=True) as response:
            got = response.json() if response.status_code == 200 else None
            if got != self.expected:
                response.failure(f"sent {{{field!r}: {value!r}}}; settings now {got}, expected {self.expected}")
